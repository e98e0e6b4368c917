using Runtime.FlowControl.Policies;
using Runtime.FlowControl.Registry;
using Runtime.FlowControl.Tests.Support;

namespace Runtime.FlowControl.Tests;

public sealed class FlowControllerTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);

    private static (FlowController Controller, FakeSaturationDetector Gate, RecordingObserver Observer) Create(
        FlowControlOptions? options = null, int slots = 0, TimeProvider? time = null)
    {
        options ??= new FlowControlOptions();
        var gate = new FakeSaturationDetector(slots);
        var controller = new FlowController(options, new FlowControlDependencies { SaturationDetector = gate, TimeProvider = time ?? TimeProvider.System });
        var observer = new RecordingObserver(controller.ShardCount);
        RecordingObserver.Attach(controller, observer);
        return (controller, gate, observer);
    }

    private static Task<FlowControlResult> Enqueue(FlowController controller, string flow, int priority, long id, TimeSpan ttl = default, CancellationToken token = default) =>
        controller.EnqueueAndWaitAsync(new FlowControlRequest(flow, priority, id, ttl), token).AsTask();

    [Fact]
    public async Task EnqueueAndWaitAsync_GateOpen_DispatchesImmediately()
    {
        var (controller, _, _) = Create(slots: 10);

        FlowControlResult result = await Enqueue(controller, "a", 0, 1);

        Assert.Equal(FlowControlOutcome.Dispatched, result.Outcome);
        Assert.Equal(0, result.EffectivePriority);
        Assert.Equal(0, controller.GetStats().QueuedRequests);
    }

    [Fact]
    public async Task EnqueueAndWaitAsync_UnknownPriority_ProvisionsBandJustInTime()
    {
        var (controller, _, _) = Create(slots: 10);
        Assert.Equal([0], controller.Priorities);

        FlowControlResult result = await Enqueue(controller, "a", 7, 1);

        Assert.Equal(FlowControlOutcome.Dispatched, result.Outcome);
        Assert.Equal(7, result.EffectivePriority);
        Assert.Equal([7, 0], controller.Priorities);
    }

    [Fact]
    public void EnqueueAndWaitAsync_64ConcurrentFirstRequestsOfNewPriority_CreateExactlyOneBandPerShard()
    {
        var (controller, gate, _) = Create(new FlowControlOptions { ShardCount = 4 });
        for (int round = 0; round < 20; round++)
        {
            int priority = 100 + round;
            int createdBefore = controller.BandsCreated;
            // Dedicated threads: 64 blocked pool threads would starve a 2-core thread pool.
            using var start = new Barrier(64);
            Thread[] threads = Enumerable.Range(0, 64)
                .Select(i => new Thread(() =>
                {
                    start.SignalAndWait();
                    _ = Enqueue(controller, $"tenant-{i}", priority, i);
                }))
                .ToArray();
            Array.ForEach(threads, thread => thread.Start());
            Array.ForEach(threads, thread => thread.Join());

            Assert.Equal(createdBefore + 1, controller.BandsCreated);
            Assert.Single(controller.Priorities, p => p == priority);
            Assert.True(controller.Table.TryGet(priority, out PriorityBand? band));
            Assert.Equal(4, band.PerShard.Length);
            Assert.All(band.PerShard, shardBand => Assert.Same(band, shardBand.Band));
            Assert.Equal(64, controller.GetStats().Bands.Single(b => b.Priority == priority).QueuedRequests);
        }

        gate.OpenWide();
        controller.NotifyCapacityChanged();
        Assert.Equal(0, controller.GetStats().QueuedRequests);
        Assert.Equal(64 * 20, controller.GetStats().OutcomeCounts[(int)FlowControlOutcome.Dispatched]);
    }

    [Fact]
    public async Task SetDesiredPriorities_BandLeavesSet_DrainsBeforeRemoval()
    {
        var (controller, gate, _) = Create();
        BandChanges added = controller.SetDesiredPriorities([5, 3]);
        Assert.Equal([3, 5], added.Added.Order());
        Task<FlowControlResult>[] queued = [Enqueue(controller, "a", 5, 1), Enqueue(controller, "a", 5, 2)];

        BandChanges drain = controller.SetDesiredPriorities([3]);

        Assert.Equal([5], drain.Draining);
        Assert.Empty(drain.Removed);
        Assert.Contains(5, controller.Priorities);
        Assert.True(controller.GetStats().Bands.Single(b => b.Priority == 5).IsDraining);

        // No new requests into a draining band: demoted to 0.
        Task<FlowControlResult> late = Enqueue(controller, "a", 5, 3);
        Assert.Equal(1, controller.GetStats().Bands.Single(b => b.Priority == 0).QueuedRequests);

        gate.OpenWide();
        controller.NotifyCapacityChanged();
        Assert.All(await Task.WhenAll(queued), r => Assert.Equal((FlowControlOutcome.Dispatched, 5), (r.Outcome, r.EffectivePriority)));
        FlowControlResult demoted = await late;
        Assert.Equal((FlowControlOutcome.Dispatched, 0), (demoted.Outcome, demoted.EffectivePriority));
        Assert.Equal([3, 0], controller.Priorities);
    }

    [Fact]
    public void SetDesiredPriorities_EmptyBandLeavesSet_RemovedAtOnce()
    {
        var (controller, _, _) = Create();
        controller.SetDesiredPriorities([5]);

        BandChanges changes = controller.SetDesiredPriorities([]);

        Assert.Equal([5], changes.Removed);
        Assert.Equal([0], controller.Priorities);
    }

    [Fact]
    public void SetDesiredPriorities_StaticBandsAndZero_NeverRemoved()
    {
        var options = new FlowControlOptions { PriorityBands = [new PriorityBandOptions { Priority = 10 }, new PriorityBandOptions { Priority = -1 }] };
        var (controller, _, _) = Create(options);

        BandChanges changes = controller.SetDesiredPriorities([]);

        Assert.Empty(changes.Draining);
        Assert.Equal([10, 0, -1], controller.Priorities);
    }

    [Fact]
    public void SetDesiredPriorities_DrainingBandReturnsToSet_Reactivated()
    {
        var (controller, _, _) = Create();
        controller.SetDesiredPriorities([5]);
        _ = Enqueue(controller, "a", 5, 1);
        controller.SetDesiredPriorities([]);

        BandChanges changes = controller.SetDesiredPriorities([5]);

        Assert.Equal([5], changes.Reactivated);
        Assert.False(controller.GetStats().Bands.Single(b => b.Priority == 5).IsDraining);
    }

    [Fact]
    public async Task EnqueueAndWaitAsync_DemotePolicyUnprovisionedPriority_RunsAtZeroEndToEnd()
    {
        var (controller, _, _) = Create(new FlowControlOptions { UnprovisionedPriority = UnprovisionedPriorityPolicy.DemoteToZero }, slots: 10);
        controller.SetDesiredPriorities([4]);

        FlowControlResult demoted = await Enqueue(controller, "a", 9, 1);
        FlowControlResult provisioned = await Enqueue(controller, "a", 4, 2);

        Assert.Equal((FlowControlOutcome.Dispatched, 0), (demoted.Outcome, demoted.EffectivePriority));
        Assert.Equal((FlowControlOutcome.Dispatched, 4), (provisioned.Outcome, provisioned.EffectivePriority));
        Assert.DoesNotContain(9, controller.Priorities);
    }

    [Fact]
    public void Dispatch_MixedPriorities_HighestBandFirst()
    {
        var (controller, gate, _) = Create();
        int[] priorities = [1, 5, 0, 3, 5, -2, 1, 3];
        for (int i = 0; i < priorities.Length; i++)
        {
            _ = Enqueue(controller, $"f{i % 3}", priorities[i], i);
        }

        gate.Slots = 3;
        controller.NotifyCapacityChanged();
        Assert.Equal([5, 5, 3], gate.DispatchedPriorities);

        gate.OpenWide();
        controller.NotifyCapacityChanged();
        Assert.Equal([5, 5, 3, 3, 1, 1, 0, -2], gate.DispatchedPriorities);
    }

    [Fact]
    public void Dispatch_OneFlow_FirstComeFirstServed()
    {
        var (controller, gate, observer) = Create();
        for (int i = 0; i < 50; i++)
        {
            _ = Enqueue(controller, "only", 0, i);
        }

        gate.OpenWide();
        controller.NotifyCapacityChanged();

        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), observer.DispatchedIds());
    }

    [Fact]
    public void Dispatch_GlobalStrictFairness_OldestHeadAcrossFlows()
    {
        var (controller, gate, observer) = Create();
        _ = Enqueue(controller, "a", 0, 1);
        _ = Enqueue(controller, "a", 0, 2);
        _ = Enqueue(controller, "b", 0, 3);
        _ = Enqueue(controller, "a", 0, 4);
        _ = Enqueue(controller, "c", 0, 5);
        _ = Enqueue(controller, "b", 0, 6);

        gate.OpenWide();
        controller.NotifyCapacityChanged();

        Assert.Equal([1L, 2, 3, 4, 5, 6], observer.DispatchedIds());
    }

    [Fact]
    public async Task Dispatch_GlobalStrictFairnessManyFlowsSomeCancelled_SurvivorsInAdmissionOrder()
    {
        // Cancellations unlink heads and non-heads alike, so the best-head heap re-places flows both ways.
        var (controller, gate, observer) = Create();
        var random = new Random(5);
        var sources = new List<CancellationTokenSource>();
        var waiting = new List<Task<FlowControlResult>>();
        for (int i = 0; i < 2000; i++)
        {
            var cts = new CancellationTokenSource();
            sources.Add(cts);
            waiting.Add(Enqueue(controller, $"f{random.Next(300)}", 0, i, token: cts.Token));
        }

        var cancelled = new HashSet<long>();
        for (int i = 0; i < sources.Count; i++)
        {
            if (random.Next(3) == 0)
            {
                sources[i].Cancel();
                cancelled.Add(i);
            }
        }

        gate.Slots = 500;
        controller.NotifyCapacityChanged();
        gate.OpenWide();
        controller.NotifyCapacityChanged();
        await Task.WhenAll(waiting).WaitAsync(s_wait);

        Assert.Equal(Enumerable.Range(0, 2000).Where(i => !cancelled.Contains(i)).Select(i => (long)i), observer.DispatchedIds());
        sources.ForEach(cts => cts.Dispose());
    }

    [Fact]
    public void Dispatch_RoundRobinFairness_OnePerFlowInTurn()
    {
        var band = new PriorityBandOptions { FairnessPolicy = RoundRobinFairnessPolicy.Instance };
        var (controller, gate, observer) = Create(new FlowControlOptions { DefaultPriorityBand = band });
        foreach ((string flow, long id) in new[] { ("a", 1L), ("a", 2), ("a", 3), ("b", 4), ("b", 5), ("c", 6) })
        {
            _ = Enqueue(controller, flow, 0, id);
        }

        gate.OpenWide();
        controller.NotifyCapacityChanged();

        Assert.Equal([1L, 4, 6, 2, 5, 3], observer.DispatchedIds());
    }

    [Fact]
    public void Dispatch_RoundRobinFairness_HeavyFlowGetsItsShareOnly()
    {
        var band = new PriorityBandOptions { FairnessPolicy = RoundRobinFairnessPolicy.Instance };
        var (controller, gate, observer) = Create(new FlowControlOptions { DefaultPriorityBand = band });
        for (int i = 0; i < 100; i++)
        {
            _ = Enqueue(controller, "heavy", 0, i);
        }

        for (int i = 100; i < 110; i++)
        {
            _ = Enqueue(controller, "light", 0, i);
        }

        gate.Slots = 20;
        controller.NotifyCapacityChanged();

        List<long> ids = observer.DispatchedIds();
        Assert.Equal(20, ids.Count);
        Assert.Equal(10, ids.Count(id => id >= 100));
    }

    [Fact]
    public async Task Dispatch_EdfOrdering_EarliestDeadlineFirst()
    {
        var band = new PriorityBandOptions { OrderingPolicy = EdfOrderingPolicy.Instance };
        var (controller, gate, observer) = Create(new FlowControlOptions { DefaultPriorityBand = band });
        _ = Enqueue(controller, "a", 0, 1, ttl: TimeSpan.FromSeconds(30));
        _ = Enqueue(controller, "a", 0, 2, ttl: TimeSpan.FromSeconds(10));
        _ = Enqueue(controller, "a", 0, 3);
        Task<FlowControlResult> last = Enqueue(controller, "a", 0, 4, ttl: TimeSpan.FromSeconds(20));

        gate.OpenWide();
        controller.NotifyCapacityChanged();
        await last;

        Assert.Equal([2L, 4, 1, 3], observer.DispatchedIds());
    }

    [Fact]
    public async Task Dispatch_SloDeadlineOrdering_EarliestObjectiveFirstThenThoseWithout()
    {
        var band = new PriorityBandOptions { OrderingPolicy = SloDeadlineOrderingPolicy.Instance };
        var (controller, gate, observer) = Create(new FlowControlOptions { DefaultPriorityBand = band });
        Task<FlowControlResult> Slo(long id, int ms) => controller.EnqueueAndWaitAsync(new FlowControlRequest("a", 0, id, SloTtft: TimeSpan.FromMilliseconds(ms))).AsTask();
        _ = Enqueue(controller, "a", 0, 1);
        _ = Slo(2, 5000);
        _ = Slo(3, 200);
        Task<FlowControlResult> last = Enqueue(controller, "a", 0, 4);

        gate.OpenWide();
        controller.NotifyCapacityChanged();
        await last;

        Assert.Equal([3L, 2, 1, 4], observer.DispatchedIds());
    }

    [Fact]
    public async Task EnqueueAndWaitAsync_BandRequestLimit_RejectsOverCapacity()
    {
        var options = new FlowControlOptions { DefaultPriorityBand = new PriorityBandOptions { MaxRequests = 2 } };
        var (controller, _, _) = Create(options);
        _ = Enqueue(controller, "a", 0, 1);
        _ = Enqueue(controller, "b", 0, 1);

        FlowControlResult rejected = await Enqueue(controller, "c", 0, 1);
        FlowControlResult otherBand = await WithTimeout(Enqueue(controller, "c", 1, 1), expectCompletion: false);

        Assert.Equal(FlowControlOutcome.RejectedCapacity, rejected.Outcome);
        Assert.Equal(default, otherBand);
    }

    [Fact]
    public async Task EnqueueAndWaitAsync_GlobalByteLimit_RejectsOverCapacityAndFreesOnDispatch()
    {
        var (controller, gate, _) = Create(new FlowControlOptions { MaxBytes = 1000 });
        _ = Enqueue(controller, "a", 0, 600);
        _ = Enqueue(controller, "a", 3, 300);

        Assert.Equal(FlowControlOutcome.RejectedCapacity, (await Enqueue(controller, "b", 5, 200)).Outcome);
        Assert.Equal(1, controller.GetStats().OutcomeCounts[(int)FlowControlOutcome.RejectedCapacity]);

        gate.OpenWide();
        controller.NotifyCapacityChanged();
        Assert.Equal(FlowControlOutcome.Dispatched, (await Enqueue(controller, "b", 5, 1000)).Outcome);
    }

    [Fact]
    public async Task EnqueueAndWaitAsync_BandByteLimitDefault_IsOneGibibyte()
    {
        var (controller, _, _) = Create();
        _ = Enqueue(controller, "a", 0, 1L << 30);

        Assert.Equal(FlowControlOutcome.RejectedCapacity, (await Enqueue(controller, "a", 0, 1)).Outcome);
    }

    [Fact]
    public async Task EnqueueAndWaitAsync_TtlExpires_EvictedAndCapacityReleased()
    {
        var time = new TimerCountingTimeProvider();
        var (controller, _, _) = Create(new FlowControlOptions { DefaultRequestTtl = TimeSpan.FromMilliseconds(50) }, time: time);
        Task<FlowControlResult> expiring = Enqueue(controller, "a", 0, 10);
        Task<FlowControlResult> longer = Enqueue(controller, "a", 0, 10, ttl: TimeSpan.FromMilliseconds(150));

        time.Advance(TimeSpan.FromMilliseconds(49));
        Assert.Equal(2, controller.GetStats().QueuedRequests);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, controller.GetStats().QueuedRequests);
        FlowControlResult result = await expiring.WaitAsync(s_wait);
        Assert.Equal((FlowControlOutcome.EvictedTtl, TimeSpan.FromMilliseconds(50)), (result.Outcome, result.QueueTime));

        time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.False(longer.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        result = await longer.WaitAsync(s_wait);
        Assert.Equal((FlowControlOutcome.EvictedTtl, TimeSpan.FromMilliseconds(150)), (result.Outcome, result.QueueTime));
        Assert.Equal((0, 0), (controller.GetStats().QueuedRequests, controller.GetStats().QueuedBytes));
    }

    [Fact]
    public async Task Dispatch_FlowIdlePastTimeout_CollectedWhileRecentlyBusyFlowKept()
    {
        var time = new TimerCountingTimeProvider();
        var (controller, _, _) = Create(new FlowControlOptions { FlowIdleTimeout = TimeSpan.FromMinutes(5) }, slots: int.MaxValue, time: time);
        await Enqueue(controller, "idle", 0, 1);
        await Enqueue(controller, "busy", 0, 2);
        Assert.Equal(2, FlowCount(controller));

        time.Advance(TimeSpan.FromMinutes(4));
        await Enqueue(controller, "busy", 0, 3);
        Assert.Equal(2, FlowCount(controller));

        // "idle" has been empty for 5 minutes, "busy" for 1.
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, FlowCount(controller));
        Assert.Equal(1, time.ArmedTimers);

        // The next scans come every half timeout; "busy" goes once it has been empty 5 minutes. The
        // fake clock fires a due timer at the time advanced to, so step onto each scan.
        time.Advance(TimeSpan.FromMinutes(2.5));
        Assert.Equal(1, FlowCount(controller));
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, FlowCount(controller));
        time.Advance(TimeSpan.FromMinutes(0.5));
        Assert.Equal(0, FlowCount(controller));
        Assert.Equal(0, time.ArmedTimers);
    }

    [Fact]
    public async Task Dispatch_EdfGlobalStrictManyFlowsSomeCancelled_EarliestDeadlineAcrossFlows()
    {
        // Clock stands still: deadline order is exactly TTL order, ties in admission order.
        var time = new TimerCountingTimeProvider();
        var band = new PriorityBandOptions { OrderingPolicy = EdfOrderingPolicy.Instance };
        var (controller, gate, observer) = Create(new FlowControlOptions { DefaultPriorityBand = band }, time: time);
        var random = new Random(11);
        var ttls = new int[1500];
        var sources = new List<CancellationTokenSource>();
        var waiting = new List<Task<FlowControlResult>>();
        for (int i = 0; i < ttls.Length; i++)
        {
            ttls[i] = random.Next(1, 200);
            var cts = new CancellationTokenSource();
            sources.Add(cts);
            waiting.Add(Enqueue(controller, $"f{random.Next(100)}", 0, i, TimeSpan.FromSeconds(ttls[i]), cts.Token));
        }

        var cancelled = new HashSet<int>(Enumerable.Range(0, ttls.Length).Where(_ => random.Next(4) == 0));
        foreach (int i in cancelled)
        {
            sources[i].Cancel();
        }

        gate.OpenWide();
        controller.NotifyCapacityChanged();
        await Task.WhenAll(waiting).WaitAsync(s_wait);

        long[] expected = [.. Enumerable.Range(0, ttls.Length).Where(i => !cancelled.Contains(i)).OrderBy(i => ttls[i]).ThenBy(i => i).Select(i => (long)i)];
        Assert.Equal(expected, observer.DispatchedIds());
        sources.ForEach(cts => cts.Dispose());
    }

    [Fact]
    public async Task EnqueueAndWaitAsync_Cancelled_RemovedImmediately()
    {
        var (controller, gate, observer) = Create();
        using var cts = new CancellationTokenSource();
        Task<FlowControlResult> cancelled = Enqueue(controller, "a", 0, 1, token: cts.Token);
        Task<FlowControlResult> kept = Enqueue(controller, "a", 0, 2);
        Assert.Equal(2, controller.GetStats().QueuedRequests);

        cts.Cancel();

        // Decided inside Cancel(): capacity is already free.
        Assert.Equal(1, controller.GetStats().QueuedRequests);
        Assert.Equal(FlowControlOutcome.EvictedCancelled, (await cancelled).Outcome);
        gate.OpenWide();
        controller.NotifyCapacityChanged();
        Assert.Equal(FlowControlOutcome.Dispatched, (await kept).Outcome);
        Assert.Equal([2L], observer.DispatchedIds());
    }

    [Fact]
    public async Task EnqueueAndWaitAsync_AlreadyCancelled_NotQueued()
    {
        var (controller, _, _) = Create();

        FlowControlResult result = await Enqueue(controller, "a", 0, 1, token: new CancellationToken(canceled: true));

        Assert.Equal(FlowControlOutcome.EvictedCancelled, result.Outcome);
        Assert.Equal(0, controller.GetStats().QueuedRequests);
    }

    [Fact]
    public async Task NotifyCapacityChanged_SlotsFree_DrainsAsManyAsAllowedAtOnce()
    {
        var (controller, gate, _) = Create();
        Task<FlowControlResult>[] waiting = Enumerable.Range(0, 500).Select(i => Enqueue(controller, $"f{i % 7}", i % 3, i)).ToArray();

        gate.Slots = 300;
        controller.NotifyCapacityChanged();
        Assert.Equal(300, gate.InFlight);
        Assert.Equal(200, controller.GetStats().QueuedRequests);

        gate.Finish(300);
        controller.NotifyCapacityChanged();
        FlowControlResult[] results = await Task.WhenAll(waiting);
        Assert.All(results, r => Assert.Equal(FlowControlOutcome.Dispatched, r.Outcome));
    }

    [Fact]
    public async Task Dispatch_FlowIdleCollectionRacingEnqueues_LosesNothingAndCollects()
    {
        var options = new FlowControlOptions { FlowIdleTimeout = TimeSpan.FromMilliseconds(1), ShardCount = 2 };
        var (controller, gate, observer) = Create(options, slots: int.MaxValue);
        const int Producers = 4;
        const int PerProducer = 3000;

        Task<FlowControlResult[]>[] producers = Enumerable.Range(0, Producers).Select(p => Task.Run(async () =>
        {
            var results = new FlowControlResult[PerProducer];
            for (int i = 0; i < PerProducer; i++)
            {
                results[i] = await Enqueue(controller, $"flow-{i % 5}", i % 2, (p * PerProducer) + i);
                if (i % 100 == 0)
                {
                    await Task.Delay(2); // let flows go idle and be collected between bursts
                }
            }

            return results;
        })).ToArray();

        FlowControlResult[][] all = await Task.WhenAll(producers).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.All(all.SelectMany(r => r), r => Assert.Equal(FlowControlOutcome.Dispatched, r.Outcome));
        List<long> ids = observer.DispatchedIds();
        Assert.Equal(Producers * PerProducer, ids.Distinct().Count());
        Assert.Equal(Producers * PerProducer, ids.Count);

        await WaitUntil(() => controller.GetStats().Bands.Sum(b => b.Flows) == 0);
    }

    [Fact]
    public async Task DisposeAsync_QueuedRequests_AllEvictedAndLaterOnesRejected()
    {
        var (controller, _, _) = Create(new FlowControlOptions { ShardCount = 3 });
        Task<FlowControlResult>[] waiting = Enumerable.Range(0, 200).Select(i => Enqueue(controller, $"f{i % 11}", i % 4, i)).ToArray();

        await controller.DisposeAsync();

        FlowControlResult[] results = await Task.WhenAll(waiting).WaitAsync(s_wait);
        Assert.All(results, r => Assert.Equal(FlowControlOutcome.EvictedShutdown, r.Outcome));
        Assert.Equal(FlowControlOutcome.RejectedShutdown, (await Enqueue(controller, "x", 0, 1)).Outcome);
        Assert.Equal(0, controller.GetStats().QueuedRequests);
    }

    [Fact]
    public async Task GetStats_QueuedAndDispatched_ReportsBandsHistogramsAndSaturation()
    {
        var (controller, gate, _) = Create();
        _ = Enqueue(controller, "a", 2, 100);
        _ = Enqueue(controller, "b", 2, 50);
        _ = Enqueue(controller, "a", 0, 7);

        var stats = controller.GetStats();
        Assert.Equal((3, 157), (stats.QueuedRequests, stats.QueuedBytes));
        Assert.Equal((2, 150, 2), stats.Bands.Where(b => b.Priority == 2).Select(b => (b.QueuedRequests, b.QueuedBytes, b.Flows)).Single());

        gate.OpenWide();
        controller.NotifyCapacityChanged();
        await Task.Yield();
        stats = controller.GetStats();
        Assert.Equal(0, stats.QueuedRequests);
        Assert.Equal(3, stats.QueueDurationByOutcome[(int)FlowControlOutcome.Dispatched].Count);
        Assert.True(stats.DispatchCycleDuration.Count >= 1);
        Assert.Equal(0, stats.LastSaturation, 3);
    }

    [Fact]
    public void Constructor_InvalidOptions_ReportsEveryProblem()
    {
        var options = new FlowControlOptions
        {
            MaxBytes = -1,
            ShardCount = 0,
            PriorityBands = [new PriorityBandOptions { Priority = 1, MaxRequests = -3 }, new PriorityBandOptions { Priority = 1 }],
        };

        ArgumentException error = Assert.Throws<ArgumentException>(() => new FlowController(options));

        Assert.Contains("maxBytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("shardCount", error.Message, StringComparison.Ordinal);
        Assert.Contains("priorityBands[0].maxRequests", error.Message, StringComparison.Ordinal);
        Assert.Contains("priorityBands[1].priority: 1 is listed twice", error.Message, StringComparison.Ordinal);
    }

    private static async Task<FlowControlResult> WithTimeout(Task<FlowControlResult> task, bool expectCompletion)
    {
        Task winner = await Task.WhenAny(task, Task.Delay(expectCompletion ? s_wait : TimeSpan.FromMilliseconds(50)));
        Assert.Equal(expectCompletion, winner == task);
        return expectCompletion ? await task : default;
    }

    private static int FlowCount(FlowController controller) => controller.GetStats().Bands.Sum(b => b.Flows);

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + s_wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Delay(5);
        }
    }
}
