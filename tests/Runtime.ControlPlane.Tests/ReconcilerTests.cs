using Microsoft.Extensions.Logging.Abstractions;
using Runtime.ControlPlane.Reconcile;
using Runtime.ControlPlane.World;
using static Runtime.ControlPlane.Tests.TestWorld;

namespace Runtime.ControlPlane.Tests;

public class ReconcilerTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    private static WorldCache SyncedCache(params Resource[] resources)
    {
        var cache = new WorldCache();
        cache.RegisterSource("test");
        foreach (var resource in resources)
        {
            cache.Upsert(resource);
        }

        cache.ReportSynced("test", DateTimeOffset.UtcNow);
        return cache;
    }

    [Fact]
    public void Subscriptions_FireOnlyForTheirKinds_AndAllOnTheFirstRound()
    {
        var cache = SyncedCache(Pool(), Pod("a", "10.0.0.1"), Objective("chat", 1));
        var fired = new List<string>();
        var workflow = new ReconcileWorkflow
        {
            Tasks =
            [
                Subscription.On("endpoints", _ => fired.Add("endpoints"), ResourceKind.InferencePool, ResourceKind.Pod),
                Subscription.On("objectives", _ => fired.Add("objectives"), ResourceKind.InferenceObjective),
                Subscription.On("everything", _ => fired.Add("everything")),
            ],
        };
        var reconciler = new Reconciler(cache, PoolSelection.ForPool("pool"), workflow, NullLogger.Instance);

        Assert.True(reconciler.ReconcileOnce());
        Assert.Equal(["endpoints", "objectives", "everything"], fired);

        fired.Clear();
        cache.Upsert(Pod("b", "10.0.0.2"));
        Assert.True(reconciler.ReconcileOnce());
        Assert.Equal(["endpoints", "everything"], fired);

        fired.Clear();
        Assert.False(reconciler.ReconcileOnce());
        Assert.Empty(fired);
    }

    [Fact]
    public void Round_SeesDiffAndBothTopologies()
    {
        var cache = SyncedCache(Pool(), Pod("a", "10.0.0.1"));
        ReconcileRound? last = null;
        var reconciler = new Reconciler(cache, PoolSelection.ForPool("pool"), new ReconcileWorkflow { Tasks = [Subscription.On("spy", r => last = r)] }, NullLogger.Instance);
        reconciler.ReconcileOnce();

        cache.Delete(new ResourceKey(ResourceKind.Pod, Ns, "a"));
        cache.Upsert(Pod("b", "10.0.0.2"));
        reconciler.ReconcileOnce();

        Assert.Equal(2, last!.Number);
        Assert.Equal([(ResourceEventType.Delete, "a"), (ResourceEventType.Create, "b")], last.Events.Select(e => (e.Type, e.Key.Name)));
        Assert.Equal(["a-rank-0"], last.PreviousTopology.Endpoints.Select(e => e.Name));
        Assert.Equal(["b-rank-0"], last.Topology.Endpoints.Select(e => e.Name));
        Assert.Same(last.Topology, reconciler.Topology);
    }

    [Fact]
    public void Precondition_SkipsWithoutConsumingTheEvents()
    {
        var cache = new WorldCache();
        cache.RegisterSource("slow");
        cache.Upsert(Pool());
        var ran = 0;
        var workflow = new ReconcileWorkflow
        {
            Precondition = _ => cache.AllSourcesSynced ? null : "waiting",
            Tasks = [Subscription.On("objectives", _ => ran++, ResourceKind.InferenceObjective)],
        };
        var reconciler = new Reconciler(cache, PoolSelection.ForPool("pool"), workflow, NullLogger.Instance);

        cache.Upsert(Objective("chat", 2));
        Assert.False(reconciler.ReconcileOnce());
        Assert.Equal("waiting", reconciler.Status.LastError);
        Assert.False(reconciler.Status.Ready);

        cache.ReportSynced("slow", DateTimeOffset.UtcNow);
        Assert.True(reconciler.ReconcileOnce());
        Assert.Equal(1, ran);
        Assert.True(reconciler.Status.Ready);
        Assert.Null(reconciler.Status.LastError);
    }

    [Fact]
    public void FailingTask_OthersStillRun_ErrorReported_RetriedNextRound()
    {
        var cache = SyncedCache(Pool());
        var attempts = 0;
        var other = 0;
        var handled = new List<string>();
        var workflow = new ReconcileWorkflow
        {
            Tasks =
            [
                Subscription.On("flaky", _ =>
                {
                    if (++attempts == 1)
                    {
                        throw new InvalidOperationException("boom");
                    }
                }, ResourceKind.InferencePool),
                Subscription.On("other", _ => other++, ResourceKind.InferencePool),
            ],
            ErrorHandler = (_, task, ex) => handled.Add($"{task}:{ex.Message}"),
        };
        var reconciler = new Reconciler(cache, PoolSelection.ForPool("pool"), workflow, NullLogger.Instance);

        reconciler.ReconcileOnce();
        Assert.Equal(["flaky:boom"], handled);
        Assert.Equal(1, other);
        Assert.Contains("flaky: boom", reconciler.Status.LastError, StringComparison.Ordinal);

        // No world change, but the failed task is due again; the one that succeeded is not.
        Assert.True(reconciler.ReconcileOnce());
        Assert.Equal(2, attempts);
        Assert.Equal(1, other);
        Assert.Null(reconciler.Status.LastError);
    }

    [Fact]
    public void ProblemReturnedByTask_ReportedButNotRetried()
    {
        var cache = SyncedCache(Pool());
        var runs = 0;
        var workflow = new ReconcileWorkflow
        {
            Tasks = [Subscription.On("validate", _ => ++runs > 0 ? "ConfigMap x: bad adapters" : null, ResourceKind.InferencePool)],
            Postcondition = round => round.Topology.Endpoints.Count == 0 ? "no endpoints" : null,
        };
        var reconciler = new Reconciler(cache, PoolSelection.ForPool("pool"), workflow, NullLogger.Instance);

        reconciler.ReconcileOnce();
        Assert.Equal("validate: ConfigMap x: bad adapters; no endpoints", reconciler.Status.LastError);
        Assert.False(reconciler.ReconcileOnce());
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task BurstOfAThousandPodEvents_CoalescesIntoAHandfulOfRounds()
    {
        var cache = SyncedCache(Pool());
        using var firstRoundRunning = new ManualResetEventSlim();
        using var burstWritten = new ManualResetEventSlim();
        var rounds = 0;
        var workflow = new ReconcileWorkflow
        {
            Tasks =
            [
                Subscription.On("endpoints", round =>
                {
                    // Hold the first round while the burst lands, as a slow publish would.
                    if (Interlocked.Increment(ref rounds) == 1)
                    {
                        firstRoundRunning.Set();
                        burstWritten.Wait(s_timeout);
                    }
                }, ResourceKind.Pod, ResourceKind.InferencePool),
            ],
        };
        await using var reconciler = new Reconciler(cache, PoolSelection.ForPool("pool"), workflow, NullLogger.Instance);
        reconciler.Start();
        Assert.True(firstRoundRunning.Wait(s_timeout));

        for (var i = 0; i < 1000; i++)
        {
            cache.Upsert(Pod($"pod-{i}", $"10.1.{i / 250}.{i % 250}"));
        }

        burstWritten.Set();
        var status = await reconciler.WaitForAsync(s => s.Endpoints == 1000, CancellationToken.None).WaitAsync(s_timeout);

        Assert.InRange(status.Rounds, 2, 3);
        Assert.Equal(cache.Current.Generation, status.ReconciledGeneration);
    }

    [Fact]
    public async Task Loop_ConvergesOnConcurrentChurn_AndEndsOnDispose()
    {
        var cache = SyncedCache(Pool());
        var published = Topology.Empty;
        var workflow = new ReconcileWorkflow { Tasks = [Subscription.On("publish", r => published = r.Topology, ResourceKind.Pod)] };
        var reconciler = new Reconciler(cache, PoolSelection.ForPool("pool"), workflow, NullLogger.Instance);
        reconciler.Start();

        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 300; i++)
            {
                var name = $"w{w}-{i % 50}";
                if (i % 7 == 0)
                {
                    cache.Delete(new ResourceKey(ResourceKind.Pod, Ns, name));
                }
                else
                {
                    cache.Upsert(Pod(name, $"10.{w}.0.{i % 50}", ready: i % 3 != 0));
                }
            }
        })));

        var final = cache.Current;
        await reconciler.WaitForAsync(s => s.ReconciledGeneration == final.Generation, CancellationToken.None).WaitAsync(s_timeout);
        Assert.Equal(TopologyBuilder.Build(final, PoolSelection.ForPool("pool")).Endpoints, published.Endpoints);
        Assert.True(reconciler.Status.Rounds < 1200);

        await reconciler.DisposeAsync();
    }

    [Fact]
    public async Task FailedTask_RetriedByTheLoopWithoutWorldChange()
    {
        var cache = SyncedCache(Pool());
        var attempts = 0;
        var workflow = new ReconcileWorkflow
        {
            Tasks = [Subscription.On("flaky", _ =>
            {
                if (Interlocked.Increment(ref attempts) < 3)
                {
                    throw new IOException("transient");
                }
            }, ResourceKind.InferencePool)],
        };
        await using var reconciler = new Reconciler(cache, PoolSelection.ForPool("pool"), workflow, NullLogger.Instance);
        reconciler.Start();

        await reconciler.WaitForAsync(s => s.Rounds >= 3 && s.LastError is null, CancellationToken.None).WaitAsync(s_timeout);
        Assert.Equal(3, attempts);
    }
}
