using Runtime.FlowControl.Policies;
using Runtime.FlowControl.Registry;
using Runtime.FlowControl.Stats;
using Runtime.FlowControl.Tests.Support;

namespace Runtime.FlowControl.Tests;

/// <summary>
/// <see cref="FlowController.Reconfigure"/>, what a reload of the <c>flowControl</c> section does to
/// a running controller: queued requests are never dropped; a band that left the config drains,
/// then goes; limits and policies bind the decisions made after the swap.
/// </summary>
public sealed class FlowControllerReconfigureTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);

    private static (FlowController Controller, FakeSaturationDetector Gate, RecordingObserver Observer) Create(FlowControlOptions options, int slots = 0)
    {
        var gate = new FakeSaturationDetector(slots);
        var controller = new FlowController(options, new FlowControlDependencies { SaturationDetector = gate });
        var observer = new RecordingObserver(1024); // slots: removed shards still draining keep theirs
        RecordingObserver.Attach(controller, observer);
        return (controller, gate, observer);
    }

    private static Task<FlowControlResult> Enqueue(FlowController controller, string flow, int priority, long id, TimeSpan ttl = default) =>
        controller.EnqueueAndWaitAsync(new FlowControlRequest(flow, priority, id, ttl)).AsTask();

    private static FlowControlOptions WithBands(params PriorityBandOptions[] bands) => new() { PriorityBands = bands };

    private static BandStats Band(FlowController controller, int priority) => controller.GetStats().Bands.Single(b => b.Priority == priority);

    [Fact]
    public async Task Reconfigure_StaticBandLeavesConfig_DrainsThenGoes()
    {
        var (controller, gate, _) = Create(WithBands(new PriorityBandOptions { Priority = 5 }));
        Task<FlowControlResult>[] queued = [Enqueue(controller, "a", 5, 1), Enqueue(controller, "b", 5, 2)];

        BandChanges changes = controller.Reconfigure(WithBands());

        Assert.Equal([5], changes.Draining);
        Assert.Empty(changes.Removed);
        Assert.Equal((PriorityBandKind.Dynamic, true, 2L), (Band(controller, 5).Kind, Band(controller, 5).IsDraining, Band(controller, 5).QueuedRequests));

        // It takes nothing new: a request for it runs at 0.
        Task<FlowControlResult> late = Enqueue(controller, "a", 5, 3);
        Assert.Equal(1, Band(controller, 0).QueuedRequests);

        gate.OpenWide();
        controller.NotifyCapacityChanged();
        Assert.All(await Task.WhenAll(queued), r => Assert.Equal((FlowControlOutcome.Dispatched, 5), (r.Outcome, r.EffectivePriority)));
        Assert.Equal((FlowControlOutcome.Dispatched, 0), ((await late).Outcome, (await late).EffectivePriority));
        Assert.Equal([0], controller.Priorities);
    }

    [Fact]
    public void Reconfigure_EmptyStaticBandLeavesConfig_RemovedAtOnce()
    {
        var (controller, _, _) = Create(WithBands(new PriorityBandOptions { Priority = 5 }, new PriorityBandOptions { Priority = 3 }));

        BandChanges changes = controller.Reconfigure(WithBands(new PriorityBandOptions { Priority = 3 }));

        Assert.Equal([5], changes.Removed);
        Assert.Equal([3, 0], controller.Priorities);
    }

    [Fact]
    public void Reconfigure_StaticBandLeavesConfigButAnObjectiveStillWantsIt_StaysAsDynamic()
    {
        var (controller, _, _) = Create(WithBands(new PriorityBandOptions { Priority = 5, MaxRequests = 1 }));
        controller.SetDesiredPriorities([5]);

        BandChanges changes = controller.Reconfigure(WithBands() with { DefaultPriorityBand = new PriorityBandOptions { MaxRequests = 7 } });

        Assert.Empty(changes.Draining);
        Assert.Empty(changes.Removed);
        Assert.Equal((PriorityBandKind.Dynamic, false), (Band(controller, 5).Kind, Band(controller, 5).IsDraining));
        Assert.True(controller.Table.TryGet(5, out PriorityBand? band));
        Assert.Equal((5, 7L), (band.Options.Priority, band.Options.MaxRequests));

        // Dynamic now: the control plane may drain it.
        Assert.Equal([5], controller.SetDesiredPriorities([]).Removed);
    }

    [Fact]
    public async Task Reconfigure_DrainingBandListedAgain_ReactivatedWithItsQueue()
    {
        var (controller, gate, _) = Create(WithBands(new PriorityBandOptions { Priority = 5 }));
        Task<FlowControlResult> queued = Enqueue(controller, "a", 5, 1);
        controller.Reconfigure(WithBands());

        BandChanges changes = controller.Reconfigure(WithBands(new PriorityBandOptions { Priority = 5 }));

        Assert.Equal([5], changes.Reactivated);
        Task<FlowControlResult> next = Enqueue(controller, "a", 5, 2);
        Assert.Equal((PriorityBandKind.Static, false, 2L), (Band(controller, 5).Kind, Band(controller, 5).IsDraining, Band(controller, 5).QueuedRequests));
        gate.OpenWide();
        controller.NotifyCapacityChanged();
        Assert.Equal(5, (await queued).EffectivePriority);
        Assert.Equal(5, (await next).EffectivePriority);
    }

    [Fact]
    public async Task Reconfigure_NewBand_AppearsWithItsLimits()
    {
        var (controller, _, _) = Create(WithBands());

        BandChanges changes = controller.Reconfigure(WithBands(new PriorityBandOptions { Priority = 7, MaxRequests = 1 }));

        Assert.Equal([7], changes.Added);
        Assert.Equal([7, 0], controller.Priorities);
        _ = Enqueue(controller, "a", 7, 1);
        Assert.Equal(FlowControlOutcome.RejectedCapacity, (await Enqueue(controller, "b", 7, 2)).Outcome);
        Assert.Equal(PriorityBandKind.Static, Band(controller, 7).Kind);
    }

    [Fact]
    public async Task Reconfigure_BandLimitShrinksBelowOccupancy_QueuedStayNewRefusedUntilUnder()
    {
        var (controller, gate, _) = Create(WithBands(new PriorityBandOptions { Priority = 0, MaxRequests = 10 }));
        Task<FlowControlResult>[] queued = [.. Enumerable.Range(1, 5).Select(i => Enqueue(controller, $"f{i}", 0, i))];

        controller.Reconfigure(WithBands(new PriorityBandOptions { Priority = 0, MaxRequests = 2 }));

        Assert.Equal(5, Band(controller, 0).QueuedRequests);
        Assert.Equal(FlowControlOutcome.RejectedCapacity, (await Enqueue(controller, "x", 0, 6)).Outcome);

        gate.Slots = 4;
        controller.NotifyCapacityChanged();
        Assert.Equal(1, Band(controller, 0).QueuedRequests);
        Task<FlowControlResult> fits = Enqueue(controller, "x", 0, 7);
        Assert.Equal(FlowControlOutcome.RejectedCapacity, (await Enqueue(controller, "y", 0, 8)).Outcome);

        gate.OpenWide();
        controller.NotifyCapacityChanged();
        Assert.All(await Task.WhenAll([.. queued, fits]), r => Assert.Equal(FlowControlOutcome.Dispatched, r.Outcome));
    }

    [Fact]
    public async Task Reconfigure_GlobalRequestLimitShrinks_QueuedStayNewRefused()
    {
        var (controller, gate, _) = Create(new FlowControlOptions { MaxRequests = 10 });
        Task<FlowControlResult>[] queued = [.. Enumerable.Range(1, 3).Select(i => Enqueue(controller, "a", 0, i))];

        controller.Reconfigure(new FlowControlOptions { MaxRequests = 2 });

        Assert.Equal(FlowControlOutcome.RejectedCapacity, (await Enqueue(controller, "a", 9, 4)).Outcome);
        gate.OpenWide();
        controller.NotifyCapacityChanged();
        Assert.All(await Task.WhenAll(queued), r => Assert.Equal(FlowControlOutcome.Dispatched, r.Outcome));
    }

    [Fact]
    public async Task Reconfigure_OrderingPolicyChange_AppliesToDispatchesAfterIt()
    {
        var (controller, gate, observer) = Create(new FlowControlOptions());
        _ = Enqueue(controller, "a", 0, 1, ttl: TimeSpan.FromSeconds(30));
        _ = Enqueue(controller, "a", 0, 2, ttl: TimeSpan.FromSeconds(10));
        _ = Enqueue(controller, "a", 0, 3);
        Task<FlowControlResult> last = Enqueue(controller, "a", 0, 4, ttl: TimeSpan.FromSeconds(20));
        gate.Slots = 1;
        controller.NotifyCapacityChanged();
        Assert.Equal([1L], observer.DispatchedIds()); // FCFS

        controller.Reconfigure(new FlowControlOptions { DefaultPriorityBand = new PriorityBandOptions { OrderingPolicy = EdfOrderingPolicy.Instance } });
        gate.OpenWide();
        controller.NotifyCapacityChanged();
        await last;

        // Earliest deadline first from here: 2 (10 s), 4 (20 s), then 3 (none); FCFS would have sent 3 before 4.
        Assert.Equal([1L, 2, 4, 3], observer.DispatchedIds());
    }

    [Fact]
    public void Reconfigure_FairnessChangeRoundRobinToGlobalStrict_AppliesToDispatchesAfterIt()
    {
        var roundRobin = new PriorityBandOptions { FairnessPolicy = RoundRobinFairnessPolicy.Instance };
        var (controller, gate, observer) = Create(new FlowControlOptions { DefaultPriorityBand = roundRobin });
        foreach ((string flow, long id) in new[] { ("a", 1L), ("a", 2), ("a", 3), ("b", 4), ("b", 5), ("c", 6) })
        {
            _ = Enqueue(controller, flow, 0, id);
        }

        gate.Slots = 2;
        controller.NotifyCapacityChanged();
        Assert.Equal([1L, 4], observer.DispatchedIds());

        controller.Reconfigure(new FlowControlOptions());
        gate.OpenWide();
        controller.NotifyCapacityChanged();

        // Oldest head across flows from here; round-robin would have gone on with 6, 2, 5, 3.
        Assert.Equal([1L, 4, 2, 3, 5, 6], observer.DispatchedIds());
    }

    [Fact]
    public void Reconfigure_FairnessChangeGlobalStrictToRoundRobin_AppliesToDispatchesAfterIt()
    {
        var (controller, gate, observer) = Create(new FlowControlOptions());
        foreach ((string flow, long id) in new[] { ("a", 1L), ("a", 2), ("a", 3), ("b", 4), ("b", 5), ("c", 6) })
        {
            _ = Enqueue(controller, flow, 0, id);
        }

        gate.Slots = 1;
        controller.NotifyCapacityChanged();
        Assert.Equal([1L], observer.DispatchedIds());

        controller.Reconfigure(new FlowControlOptions { DefaultPriorityBand = new PriorityBandOptions { FairnessPolicy = RoundRobinFairnessPolicy.Instance } });
        gate.OpenWide();
        controller.NotifyCapacityChanged();

        // One per flow in turn (flows in order of their oldest request); global-strict would have sent 2, 3 next.
        Assert.Equal([1L, 2, 4, 6, 3, 5], observer.DispatchedIds());
    }

    [Fact]
    public async Task Reconfigure_UsageLimitRaised_QueuedRequestsGoWithoutAnotherSignal()
    {
        var strict = new FlowControlOptions { UsageLimitPolicy = new StaticUsageLimitPolicy(0.4) };
        var (controller, gate, _) = Create(strict, slots: 2);
        gate.OnDispatched(0); // saturation 0.5: over the 0.4 limit
        Task<FlowControlResult> queued = Enqueue(controller, "a", 0, 1);
        Assert.False(queued.IsCompleted);

        controller.Reconfigure(strict with { UsageLimitPolicy = new StaticUsageLimitPolicy(0.9) });

        Assert.Equal(FlowControlOutcome.Dispatched, (await queued.WaitAsync(s_wait)).Outcome);
    }

    [Fact]
    public async Task Reconfigure_NewDetector_GatesLaterDispatches()
    {
        var (controller, closed, _) = Create(new FlowControlOptions());
        Task<FlowControlResult> queued = Enqueue(controller, "a", 3, 1);
        var open = new FakeSaturationDetector(slots: 100);

        controller.Reconfigure(new FlowControlOptions(), open);

        Assert.Equal(FlowControlOutcome.Dispatched, (await queued.WaitAsync(s_wait)).Outcome);
        Assert.Equal([3], open.DispatchedPriorities);
        Assert.Empty(closed.DispatchedPriorities);
    }

    [Fact]
    public async Task Reconfigure_DefaultTtl_AppliesToRequestsAdmittedAfterIt()
    {
        var (controller, gate, _) = Create(new FlowControlOptions());
        Task<FlowControlResult> before = Enqueue(controller, "a", 0, 1);

        controller.Reconfigure(new FlowControlOptions { DefaultRequestTtl = TimeSpan.FromMilliseconds(50) });
        FlowControlResult after = await Enqueue(controller, "a", 0, 2).WaitAsync(s_wait);

        Assert.Equal(FlowControlOutcome.EvictedTtl, after.Outcome);
        Assert.False(before.IsCompleted);
        gate.OpenWide();
        controller.NotifyCapacityChanged();
        Assert.Equal(FlowControlOutcome.Dispatched, (await before.WaitAsync(s_wait)).Outcome);
    }

    [Fact]
    public async Task Reconfigure_ShardCount_Follows()
    {
        var (controller, gate, _) = Create(new FlowControlOptions());
        Task<FlowControlResult>[] queued = [.. Enumerable.Range(1, 20).Select(i => Enqueue(controller, $"f{i}", 0, i))];

        controller.Reconfigure(new FlowControlOptions { ShardCount = 3 });
        Assert.Equal(3, controller.ShardCount);
        controller.Reconfigure(new FlowControlOptions { ShardCount = 2 });
        Assert.Equal(2, controller.ShardCount);

        gate.OpenWide();
        controller.NotifyCapacityChanged();
        Assert.All(await Task.WhenAll(queued).WaitAsync(s_wait), r => Assert.Equal(FlowControlOutcome.Dispatched, r.Outcome));
    }

    [Fact]
    public void Reconfigure_InvalidOptions_ThrowsAndChangesNothing()
    {
        var (controller, _, _) = Create(WithBands(new PriorityBandOptions { Priority = 5 }));

        var error = Assert.Throws<ArgumentException>(() => controller.Reconfigure(new FlowControlOptions { MaxRequests = -1, PriorityBands = [new() { Priority = 1 }, new() { Priority = 1 }] }));

        Assert.Contains("maxRequests: must not be negative", error.Message, StringComparison.Ordinal);
        Assert.Contains("priority: 1 is listed twice", error.Message, StringComparison.Ordinal);
        Assert.Equal([5, 0], controller.Priorities);
        Assert.Equal(0, controller.Options.MaxRequests);
    }

    [Fact]
    public async Task Reconfigure_AfterDispose_Throws()
    {
        var (controller, _, _) = Create(new FlowControlOptions());
        await controller.DisposeAsync();

        Assert.Throws<ObjectDisposedException>(() => controller.Reconfigure(new FlowControlOptions()));
    }

    [Fact]
    public async Task Reconfigure_RacingProducersAndDispatchers_NothingLostOrDispatchedTwice()
    {
        const int Producers = 4;
        const int Swaps = 100;
        var a = new FlowControlOptions
        {
            ShardCount = 2,
            DefaultPriorityBand = new PriorityBandOptions { MaxBytes = 0 },
            PriorityBands = [new() { Priority = 1, MaxBytes = 0 }, new() { Priority = 2, MaxBytes = 0, FairnessPolicy = RoundRobinFairnessPolicy.Instance }, new() { Priority = 3, MaxBytes = 0 }],
        };
        var b = new FlowControlOptions
        {
            ShardCount = 3,
            DefaultPriorityBand = new PriorityBandOptions { MaxBytes = 0, FairnessPolicy = RoundRobinFairnessPolicy.Instance },
            PriorityBands = [new() { Priority = 2, MaxBytes = 0, OrderingPolicy = EdfOrderingPolicy.Instance }, new() { Priority = 4, MaxBytes = 0, MaxRequests = 50 }],
        };
        var (controller, gate, observer) = Create(a);
        var perProducer = new List<Task<FlowControlResult>>[Producers];
        using var stop = new CancellationTokenSource();
        using var reloaded = new CancellationTokenSource();
        var producers = Enumerable.Range(0, Producers).Select(p => new Thread(() =>
        {
            // Until every reconfiguration is done (at most 20,000 each): the swaps land among the enqueues.
            var mine = perProducer[p] = [];
            for (int i = 0; i < 20_000 && !reloaded.IsCancellationRequested; i++)
            {
                long id = (p * 1_000_000L) + i + 1;
                mine.Add(Enqueue(controller, $"f{id % 7}", (int)(id % 5), id, ttl: id % 3 == 0 ? TimeSpan.FromSeconds(30) : default));
                if (i % 16 == 0)
                {
                    Thread.Yield();
                }
            }
        })).ToArray();
        var gateFlipper = new Thread(() =>
        {
            var random = new Random(7);
            while (!stop.IsCancellationRequested)
            {
                gate.Finish(gate.InFlight);
                gate.Slots = random.Next(2) == 0 ? 0 : 20;
                controller.NotifyCapacityChanged();
                Thread.Yield();
            }
        });
        var reloader = new Thread(() =>
        {
            for (int swap = 0; swap < Swaps; swap++)
            {
                controller.Reconfigure(swap % 2 == 0 ? b : a);
                Thread.Sleep(1);
            }

            reloaded.Cancel();
        });

        Array.ForEach(producers, t => t.Start());
        gateFlipper.Start();
        reloader.Start();
        reloader.Join();
        Array.ForEach(producers, t => t.Join());
        await stop.CancelAsync();
        gateFlipper.Join();
        controller.Reconfigure(a);
        gate.OpenWide();
        controller.NotifyCapacityChanged();
        Task<FlowControlResult>[] all = [.. perProducer.SelectMany(list => list)];
        try
        {
            await Task.WhenAll(all).WaitAsync(s_wait);
        }
        catch (TimeoutException)
        {
            FlowControlStats stats = controller.GetStats();
            Assert.Fail($"stuck: {all.Count(t => !t.IsCompleted)} of {all.Length}; queued {stats.QueuedRequests}; errors {stats.DispatcherErrors}; shards {controller.ShardCount}/{controller.AttachedShards.Length}; bands " +
                string.Join(", ", stats.Bands.Select(band => $"{band.Priority}:{band.Kind}:{band.IsDraining}:{band.QueuedRequests}")));
        }

        FlowControlResult[] results = [.. all.Select(t => t.Result)];

        Assert.True(results.Length > 1000, $"only {results.Length} requests raced the reconfigurations");
        Assert.All(results, r => Assert.Contains(r.Outcome, new[] { FlowControlOutcome.Dispatched, FlowControlOutcome.RejectedCapacity }));
        List<long> dispatched = observer.DispatchedIds();
        Assert.Equal(dispatched.Count, dispatched.Distinct().Count());
        Assert.Equal(results.Count(r => r.Outcome == FlowControlOutcome.Dispatched), dispatched.Count);
        Assert.Equal((0L, 0L), (controller.GetStats().QueuedRequests, controller.GetStats().DispatcherErrors));
        Assert.All(controller.GetStats().Bands, band => Assert.Equal((0L, false), (band.QueuedRequests, band.IsDraining)));
        Assert.All(controller.GetStats().Bands.Where(band => band.Priority == 4), band => Assert.Equal(PriorityBandKind.Dynamic, band.Kind)); // left the config
    }
}
