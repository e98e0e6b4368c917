using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Runtime.ControlPlane.World;
using static Runtime.ControlPlane.Manifests.Tests.TestFiles;

namespace Runtime.ControlPlane.Manifests.Tests;

public sealed class ManifestDirectorySourceTests
{
    private static readonly ManifestSourceOptions s_manual = new() { WatchChanges = false, RescanInterval = TimeSpan.Zero };
    private static readonly ManifestSourceOptions s_watched = new() { Debounce = TimeSpan.FromMilliseconds(50), RescanInterval = TimeSpan.Zero };

    private static ManifestDirectorySource NewSource(string directory, WorldCache cache, ManifestSourceOptions options) =>
        new(directory, cache, options, NullLogger.Instance);

    private static PodResource[] Pods(WorldCache cache) =>
        [.. cache.Current.Of<PodResource>(ResourceKind.Pod).OrderBy(p => p.Meta.Name, StringComparer.Ordinal)];

    private static string[] PodIPs(WorldCache cache) => [.. Pods(cache).Select(p => p.PodIP!)];

    [Fact]
    public void Reload_ValidDirectory_ReplacesAllKindsAndReportsSynced()
    {
        using var dir = new TempDirectory();
        dir.Write("pool.yaml", Pool + "\n---\n" + EndpointList("eps", "10.0.0.1", "10.0.0.2"));
        dir.Write("objectives.yaml", Objective("premium", 10));
        var cache = new WorldCache();
        cache.Upsert(new ConfigMapResource(new ResourceMeta("default", "stale"), ValueDictionary.Empty));
        using var source = NewSource(dir.Path, cache, s_manual);

        Assert.True(source.Reload());

        Assert.Equal(4, cache.Current.Count);
        Assert.Empty(cache.Current.Of(ResourceKind.ConfigMap));
        Assert.Equal(["eps-0", "eps-1"], Pods(cache).Select(p => p.Meta.Name));
        Assert.All(Pods(cache), p => Assert.True(p.Ready));
        var state = cache.Sources[ManifestDirectorySource.SourceName];
        Assert.True(state.Synced);
        Assert.Null(state.LastError);
        Assert.Empty(source.LastErrors);
    }

    [Fact]
    public void Reload_NothingChanged_SkipsTheLoad()
    {
        using var dir = new TempDirectory();
        dir.Write("pool.yaml", Pool);
        var cache = new WorldCache();
        using var source = NewSource(dir.Path, cache, s_manual);
        Assert.True(source.Reload());

        Assert.False(source.Reload());

        Assert.Equal(1, source.LoadCount);
    }

    [Fact]
    public void Reload_SameContentRewritten_PublishesNothing()
    {
        using var dir = new TempDirectory();
        dir.Write("pool.yaml", Pool);
        var cache = new WorldCache();
        using var source = NewSource(dir.Path, cache, s_manual);
        Assert.True(source.Reload());
        var generation = cache.Current.Generation;

        dir.WriteAtomically("pool.yaml", Pool);
        File.SetLastWriteTimeUtc(dir.File("pool.yaml"), DateTime.UtcNow.AddSeconds(5));

        Assert.False(source.Reload());
        Assert.Equal(2, source.LoadCount);
        Assert.Equal(generation, cache.Current.Generation);
        Assert.Equal(1, source.PublishCount);
    }

    [Fact]
    public void Reload_InvalidSet_KeepsLastGoodWorldAndReportsEveryError()
    {
        using var dir = new TempDirectory();
        dir.Write("pool.yaml", Pool + "\n---\n" + EndpointList("eps", "10.0.0.1"));
        dir.Write("objectives.yaml", Objective("premium", 10));
        var cache = new WorldCache();
        using var source = NewSource(dir.Path, cache, s_manual);
        long measured = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ManifestDirectorySource.MeterName && instrument.Name == ManifestDirectorySource.ReloadErrorsCounterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref measured, value));
        listener.Start();
        Assert.True(source.Reload());
        var good = cache.Current;

        dir.Write("objectives.yaml", Objective("premium", 10) + "\n---\n" + Objective("orphan", 1, pool: "missing") + "\n---\n" + Objective("premium", 3)
            + "\n---\n" + Objective("typed", 0).Replace("priority: 0", "priority: \"high\"", StringComparison.Ordinal));
        dir.Write("broken.yaml", "kind: ConfigMap\nmetadata:\n  name: x\n  labels: {a: b\n");

        Assert.False(source.Reload());

        Assert.Same(good, cache.Current);
        var errors = source.LastErrors.Select(e => e.ToString()).ToArray();
        Assert.Equal(3, errors.Length);
        Assert.Contains(errors, e => e.StartsWith("broken.yaml:5: YAML syntax error", StringComparison.Ordinal));
        Assert.Contains("objectives.yaml:33: InferenceObjective \"typed\": spec.priority must be an integer", errors);
        Assert.Contains("objectives.yaml:19: duplicate InferenceObjective \"default/premium\" (first defined at objectives.yaml:1)", errors);
        Assert.DoesNotContain(errors, e => e.Contains("orphan", StringComparison.Ordinal));
        var state = cache.Sources[ManifestDirectorySource.SourceName];
        Assert.True(state.Synced);
        Assert.Contains("broken.yaml:5", state.LastError, StringComparison.Ordinal);
        Assert.Equal(1, source.ReloadErrorCount);
        Assert.Equal(1, Interlocked.Read(ref measured));

        // Fixing the files publishes again and clears the errors.
        File.Delete(dir.File("broken.yaml"));
        dir.Write("objectives.yaml", Objective("premium", 7));
        Assert.True(source.Reload());
        Assert.Empty(source.LastErrors);
        Assert.Null(cache.Sources[ManifestDirectorySource.SourceName].LastError);
        Assert.Equal(7, cache.Current.Of<InferenceObjectiveResource>(ResourceKind.InferenceObjective).Single().Priority);
    }

    [Fact]
    public async Task Watcher_AtomicRename_Reloads()
    {
        using var dir = new TempDirectory();
        dir.Write("pool.yaml", Pool);
        dir.Write("eps.yaml", EndpointList("eps", "10.0.0.1"));
        var cache = new WorldCache();
        using var source = NewSource(dir.Path, cache, s_watched);
        source.Start();
        Assert.Equal(["10.0.0.1"], PodIPs(cache));

        dir.WriteAtomically("eps.yaml", EndpointList("eps", "10.0.0.1", "10.0.0.9"));

        Assert.True(await EventuallyAsync(() => PodIPs(cache).Length == 2), "the rename was not picked up");
        Assert.Equal(["10.0.0.1", "10.0.0.9"], PodIPs(cache));
    }

    [Fact]
    public async Task Watcher_ConfigMapVolumeDataSwap_Reloads()
    {
        // Laid out exactly as kubelet does: a timestamped dir, ..data pointing at it, and one
        // top-level symlink per key through ..data. An update writes a new timestamped dir, points a
        // temporary link at it and renames that over ..data, then removes the old dir.
        using var dir = new TempDirectory();
        var first = "..2026_12_04_10_00_00.000000001";
        Directory.CreateDirectory(dir.File(first));
        File.WriteAllText(Path.Combine(dir.File(first), "pool.yaml"), Pool + "\n---\n" + EndpointList("eps", "10.0.0.1"));
        File.CreateSymbolicLink(dir.File("..data"), first);
        File.CreateSymbolicLink(dir.File("pool.yaml"), "..data/pool.yaml");
        var cache = new WorldCache();
        using var source = NewSource(dir.Path, cache, s_watched);
        source.Start();
        Assert.Equal(["10.0.0.1"], PodIPs(cache));

        // Same length on purpose: only the swap, not the size, tells the change.
        var second = "..2026_12_04_10_00_05.000000002";
        Directory.CreateDirectory(dir.File(second));
        File.WriteAllText(Path.Combine(dir.File(second), "pool.yaml"), Pool + "\n---\n" + EndpointList("eps", "10.0.0.2"));
        File.CreateSymbolicLink(dir.File("..data_tmp"), second);
        Rename(dir.File("..data_tmp"), dir.File("..data"));
        Directory.Delete(dir.File(first), recursive: true);

        Assert.True(await EventuallyAsync(() => PodIPs(cache) is ["10.0.0.2"]), "the ..data swap was not picked up");
        Assert.Empty(source.LastErrors);
    }

    [Fact]
    public async Task Watcher_PartialWrite_IsIgnoredUntilTheWriteCompletes()
    {
        using var dir = new TempDirectory();
        var full = Pool + "\n---\n" + EndpointList("eps", "10.0.0.1");
        dir.Write("pool.yaml", full);
        var cache = new WorldCache();
        using var source = NewSource(dir.Path, cache, s_watched);
        source.Start();
        var good = cache.Current;

        // A writer caught halfway: the file ends inside the flow list.
        var updated = Pool + "\n---\n" + EndpointList("eps", "10.0.0.1", "10.0.0.2");
        using (var stream = new FileStream(dir.File("pool.yaml"), FileMode.Create, FileAccess.Write, FileShare.ReadWrite))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(updated[..(updated.Length - 12)]);
            writer.Flush();
            Assert.True(await EventuallyAsync(() => source.LastErrors.Count > 0), "the half-written file was not seen");
            Assert.Same(good, cache.Current);
            Assert.Contains("pool.yaml:", source.LastErrors[0].ToString(), StringComparison.Ordinal);

            writer.Write(updated[(updated.Length - 12)..]);
        }

        Assert.True(await EventuallyAsync(() => PodIPs(cache).Length == 2), "the completed write was not applied");
        Assert.Empty(source.LastErrors);
    }

    [Fact]
    public async Task Watcher_BurstOfWrites_CoalescesIntoFewReloads()
    {
        using var dir = new TempDirectory();
        dir.Write("pool.yaml", Pool);
        dir.Write("eps.yaml", EndpointList("eps", "10.0.0.1"));
        var cache = new WorldCache();
        using var source = NewSource(dir.Path, cache, new ManifestSourceOptions { Debounce = TimeSpan.FromMilliseconds(200), RescanInterval = TimeSpan.Zero });
        source.Start();
        var loadsBefore = source.LoadCount;

        for (var i = 1; i <= 50; i++)
        {
            dir.WriteAtomically("eps.yaml", EndpointList("eps", $"10.0.1.{i}"));
        }

        Assert.True(await EventuallyAsync(() => PodIPs(cache) is ["10.0.1.50"]), "the last write was not applied");
        await Task.Delay(500);
        var loads = source.LoadCount - loadsBefore;
        Assert.InRange(loads, 1, 10);
    }

    [Fact]
    public async Task Watcher_DirectoryThatNeverGoesQuiet_IsStillReloaded()
    {
        using var dir = new TempDirectory();
        dir.Write("pool.yaml", Pool);
        dir.Write("eps.yaml", EndpointList("eps", "10.0.0.1"));
        var cache = new WorldCache();
        using var source = NewSource(dir.Path, cache, new ManifestSourceOptions { Debounce = TimeSpan.FromMilliseconds(100), RescanInterval = TimeSpan.Zero });
        source.Start();
        var published = source.PublishCount;

        // Writes every ~20 ms keep resetting the debounce; the cap (10 debounces) must still let a reload through.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 2; source.PublishCount == published && clock.Elapsed < TimeSpan.FromSeconds(15); i++)
        {
            dir.WriteAtomically("eps.yaml", EndpointList("eps", $"10.0.2.{i % 250}"));
            await Task.Delay(20);
        }

        Assert.True(source.PublishCount > published, "a continuous stream of writes starved the reload");
    }

    [Fact]
    public async Task Start_MissingDirectory_ReportsErrorThenLoadsWhenCreated()
    {
        using var dir = new TempDirectory(create: false);
        var cache = new WorldCache();
        using var source = NewSource(dir.Path, cache, s_watched with { RescanInterval = TimeSpan.FromMilliseconds(100) });

        source.Start();

        Assert.Contains("does not exist", Assert.Single(source.LastErrors).Message, StringComparison.Ordinal);
        var state = cache.Sources[ManifestDirectorySource.SourceName];
        Assert.False(state.Synced);
        Assert.Contains("does not exist", state.LastError, StringComparison.Ordinal);

        // Created through a rename, as a deploy tool would: the directory appears complete.
        var staging = dir.Path + ".staging";
        Directory.CreateDirectory(staging);
        File.WriteAllText(Path.Combine(staging, "pool.yaml"), Pool + "\n---\n" + EndpointList("eps", "10.0.0.1"));
        Directory.Move(staging, dir.Path);

        Assert.True(await EventuallyAsync(() => cache.AllSourcesSynced), "the created directory was not picked up");
        Assert.Equal(["10.0.0.1"], PodIPs(cache));
        Assert.Empty(source.LastErrors);

        // And the watcher is on it now.
        dir.WriteAtomically("pool.yaml", Pool + "\n---\n" + EndpointList("eps", "10.0.0.3"));
        Assert.True(await EventuallyAsync(() => PodIPs(cache) is ["10.0.0.3"]));
    }

    [Fact]
    public async Task Rescan_WatcherOff_CatchesAChange()
    {
        using var dir = new TempDirectory();
        dir.Write("pool.yaml", Pool + "\n---\n" + EndpointList("eps", "10.0.0.1"));
        var cache = new WorldCache();
        using var source = NewSource(dir.Path, cache, new ManifestSourceOptions { WatchChanges = false, RescanInterval = TimeSpan.FromMilliseconds(100) });
        source.Start();

        dir.Write("pool.yaml", Pool + "\n---\n" + EndpointList("eps", "10.0.0.1", "10.0.0.22"));

        Assert.True(await EventuallyAsync(() => PodIPs(cache).Length == 2), "the rescan missed the change");
    }

    [Fact]
    public void Dispose_Twice_IsHarmless()
    {
        using var dir = new TempDirectory();
        var source = NewSource(dir.Path, new WorldCache(), s_watched);
        source.Start();
        source.Dispose();
        source.Dispose();
        Assert.Throws<ObjectDisposedException>(source.Start);
    }
}
