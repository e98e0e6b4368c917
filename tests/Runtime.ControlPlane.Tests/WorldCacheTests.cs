using Runtime.ControlPlane.Reconcile;
using Runtime.ControlPlane.World;
using static Runtime.ControlPlane.Tests.TestWorld;

namespace Runtime.ControlPlane.Tests;

public class WorldCacheTests
{
    [Fact]
    public void Replace_SameContentAgain_NoNewGeneration()
    {
        var cache = new WorldCache();
        Assert.True(cache.Replace(ResourceKind.Pod, [Pod("a", "10.0.0.1"), Pod("b", "10.0.0.2")]));
        var generation = cache.Current.Generation;

        // A re-list returns equal objects (new instances, new resourceVersions): nothing changes.
        Assert.False(cache.Replace(ResourceKind.Pod, [Pod("b", "10.0.0.2"), Pod("a", "10.0.0.1") with { Meta = Meta("a", labels: [L("app", "vllm")]) with { ResourceVersion = "99" } }]));
        Assert.Equal(generation, cache.Current.Generation);
    }

    [Fact]
    public void Replace_DropsWhatTheListNoLongerHas()
    {
        var cache = new WorldCache();
        cache.Replace(ResourceKind.Pod, [Pod("a", "10.0.0.1"), Pod("b", "10.0.0.2")]);
        cache.Replace(ResourceKind.InferencePool, [Pool()]);

        Assert.True(cache.Replace(ResourceKind.Pod, [Pod("b", "10.0.0.2")]));

        Assert.Equal(["b"], cache.Current.Of(ResourceKind.Pod).Keys.Select(k => k.Name));
        Assert.Single(cache.Current.Of(ResourceKind.InferencePool));
    }

    [Fact]
    public void Replace_SeveralKinds_OneGeneration()
    {
        var cache = new WorldCache();
        var before = cache.Current.Generation;
        Assert.True(cache.Replace([ResourceKind.Pod, ResourceKind.InferencePool, ResourceKind.InferenceObjective], [Pod("a", "10.0.0.1"), Pool(), Objective("chat", 5)]));

        Assert.Equal(before + 1, cache.Current.Generation);
        Assert.Equal(3, cache.Current.Count);
    }

    [Fact]
    public void Replace_ResourceOfAnotherKind_Throws()
    {
        var cache = new WorldCache();
        Assert.Throws<ArgumentException>(() => cache.Replace(ResourceKind.Pod, [Pool()]));
    }

    [Fact]
    public void UpsertAndDelete_OnlyRealChangesCount()
    {
        var cache = new WorldCache();
        Assert.True(cache.Upsert(Pod("a", "10.0.0.1")));
        Assert.False(cache.Upsert(Pod("a", "10.0.0.1")));
        Assert.True(cache.Upsert(Pod("a", "10.0.0.1", ready: false)));
        Assert.True(cache.Delete(new ResourceKey(ResourceKind.Pod, Ns, "a")));
        Assert.False(cache.Delete(new ResourceKey(ResourceKind.Pod, Ns, "a")));
        Assert.Equal(3, cache.Current.Generation);
    }

    [Fact]
    public void Snapshots_AreImmutable()
    {
        var cache = new WorldCache();
        cache.Upsert(Pod("a", "10.0.0.1"));
        var snapshot = cache.Current;
        cache.Upsert(Pod("b", "10.0.0.2"));

        Assert.Single(snapshot.Of(ResourceKind.Pod));
        Assert.Equal(2, cache.Current.Of(ResourceKind.Pod).Count);
    }

    [Fact]
    public async Task WaitForChange_WakesOnWriteAndOnSourceState()
    {
        var cache = new WorldCache();
        var seen = cache.Version;
        var waiting = cache.WaitForChangeAsync(seen, CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        cache.Upsert(Pod("a", "10.0.0.1"));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        seen = cache.Version;
        waiting = cache.WaitForChangeAsync(seen, CancellationToken.None);
        cache.ReportSynced("kubernetes", DateTimeOffset.UtcNow);
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        // Already behind: completes at once.
        Assert.True(cache.WaitForChangeAsync(seen, CancellationToken.None).IsCompleted);
    }

    [Fact]
    public void Sources_SyncedOnlyWhenEveryRegisteredSourceIs_ErrorsKeepSync()
    {
        var cache = new WorldCache();
        Assert.False(cache.AllSourcesSynced);
        cache.RegisterSource("a");
        cache.RegisterSource("b");
        cache.ReportSynced("a", DateTimeOffset.UtcNow);
        Assert.False(cache.AllSourcesSynced);
        cache.ReportSynced("b", DateTimeOffset.UtcNow);
        Assert.True(cache.AllSourcesSynced);

        cache.ReportError("b", "watch failed");
        Assert.True(cache.AllSourcesSynced);
        Assert.Equal("watch failed", cache.Sources["b"].LastError);
    }

    [Fact]
    public void ConcurrentWriters_LoseNothing()
    {
        var cache = new WorldCache();
        Parallel.For(0, 2000, i => cache.Upsert(Pod($"p{i}", $"10.0.{i / 250}.{i % 250}")));
        Assert.Equal(2000, cache.Current.Of(ResourceKind.Pod).Count);
        Assert.Equal(2000, cache.Current.Generation);
    }

    [Fact]
    public void Diff_CreateUpdateDelete_InKeyOrder()
    {
        var before = WorldSnapshot.From([Pod("a", "10.0.0.1"), Pod("b", "10.0.0.2"), Objective("chat", 1)]);
        var after = WorldSnapshot.From([Pod("b", "10.0.0.9"), Pod("c", "10.0.0.3"), Objective("chat", 1)]);

        var events = WorldDiff.Compute(before, after);

        Assert.Equal(
            [(ResourceEventType.Delete, "a"), (ResourceEventType.Update, "b"), (ResourceEventType.Create, "c")],
            events.Select(e => (e.Type, e.Key.Name)));
        var update = events[1];
        Assert.Equal("10.0.0.2", ((PodResource)update.Old!).PodIP);
        Assert.Equal("10.0.0.9", ((PodResource)update.New!).PodIP);
        Assert.Empty(WorldDiff.Compute(after, WorldSnapshot.From([Pod("c", "10.0.0.3"), Pod("b", "10.0.0.9"), Objective("chat", 1)])));
    }
}
