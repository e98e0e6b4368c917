using System.Collections.Concurrent;
using Runtime.FlowControl.Registry;
using Runtime.FlowControl.Tests.Support;

namespace Runtime.FlowControl.Tests;

public sealed class FlowControllerShardScalingTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);

    private static (FlowController Controller, FakeSaturationDetector Gate, RecordingObserver Observer) Create(
        FlowControlOptions options, TimeProvider? time = null)
    {
        var gate = new FakeSaturationDetector();
        var controller = new FlowController(options, new FlowControlDependencies { SaturationDetector = gate, TimeProvider = time ?? TimeProvider.System });
        var observer = new RecordingObserver(64); // slots of shards added later too
        RecordingObserver.Attach(controller, observer);
        return (controller, gate, observer);
    }

    private static Task<FlowControlResult> Enqueue(FlowController controller, string flow, int priority, long id) =>
        controller.EnqueueAndWaitAsync(new FlowControlRequest(flow, priority, id)).AsTask();

    /// <summary>A fairness id the current table routes to a shard in <paramref name="slot"/>.</summary>
    private static string FlowOn(FlowController controller, int slot) =>
        Enumerable.Range(0, 10_000).Select(i => $"flow-{i}").First(id => controller.ShardFor(id).Index == slot);

    /// <summary>Every band has exactly one part on every attached shard, each shard has its own slot, priorities are unique.</summary>
    private static void AssertOnePartPerBandOnEveryShard(FlowController controller)
    {
        BandTable table = controller.Table;
        Assert.Equal(table.Bands.Length, table.Bands.Select(b => b.Priority).Distinct().Count());
        Assert.Equal(table.Attached.Length, table.Attached.Select(s => s.Index).Distinct().Count());
        Assert.All(table.Shards, shard => Assert.Contains(shard, table.Attached));
        foreach (PriorityBand band in table.Bands)
        {
            ShardBand[] parts = band.PerShard;
            Assert.All(table.Attached, shard => Assert.Same(band, parts[shard.Index].Band));
        }
    }

    [Fact]
    public async Task SetShardCount_Grow_NewShardsGetEveryBandIncludingDrainingOnes()
    {
        var (controller, gate, observer) = Create(new FlowControlOptions());
        controller.SetDesiredPriorities([5, 3]);
        Task<FlowControlResult> queued = Enqueue(controller, "a", 5, 1);
        controller.SetDesiredPriorities([3]);

        controller.SetShardCount(4);

        Assert.Equal(4, controller.ShardCount);
        AssertOnePartPerBandOnEveryShard(controller);
        Assert.True(controller.GetStats().Bands.Single(b => b.Priority == 5).IsDraining);

        // On a new shard, band 3 takes requests and draining band 5 demotes them, as everywhere.
        string moved = FlowOn(controller, 3);
        Task<FlowControlResult> three = Enqueue(controller, moved, 3, 2);
        Task<FlowControlResult> five = Enqueue(controller, moved, 5, 3);
        gate.OpenWide();
        controller.NotifyCapacityChanged();

        Assert.Equal((FlowControlOutcome.Dispatched, 5), Summary(await queued.WaitAsync(s_wait)));
        Assert.Equal((FlowControlOutcome.Dispatched, 3), Summary(await three.WaitAsync(s_wait)));
        Assert.Equal((FlowControlOutcome.Dispatched, 0), Summary(await five.WaitAsync(s_wait)));
        Assert.Equal(3, observer.Events.Single(e => e.Id == 2).Shard);
        Assert.Equal([3, 0], controller.Priorities);
    }

    [Fact]
    public async Task SetShardCount_Shrink_RemovedShardsTakeNothingNewDrainThenAreDropped()
    {
        var (controller, gate, observer) = Create(new FlowControlOptions { ShardCount = 4 });
        string[] ids = [.. Enumerable.Range(0, 40).Select(i => $"f{i}")];
        int[] before = [.. ids.Select(id => controller.ShardFor(id).Index)];
        Task<FlowControlResult>[] queued = [.. ids.Select((id, i) => Enqueue(controller, id, i % 3, i))];
        Assert.Contains(before, slot => slot >= 2);

        controller.SetShardCount(2);

        Assert.Equal(2, controller.ShardCount);
        Assert.Equal(4, controller.AttachedShards.Length); // shards 2 and 3 still hold requests
        for (int i = 0; i < ids.Length; i++)
        {
            // Consistent hashing: only the flows of removed shards move.
            int after = controller.ShardFor(ids[i]).Index;
            Assert.Equal(before[i] < 2 ? before[i] : after, after);
            Assert.InRange(after, 0, 1);
        }

        Task<FlowControlResult>[] late = [.. ids.Select((id, i) => Enqueue(controller, id, i % 3, 100 + i))];
        gate.OpenWide();
        controller.NotifyCapacityChanged();

        Assert.All(await Task.WhenAll(queued.Concat(late)).WaitAsync(s_wait), r => Assert.Equal(FlowControlOutcome.Dispatched, r.Outcome));
        Dictionary<long, int> shardOf = observer.Events.ToDictionary(e => e.Id, e => e.Shard);
        Assert.All(Enumerable.Range(0, ids.Length), i => Assert.Equal(before[i], shardOf[i]));
        Assert.All(Enumerable.Range(0, ids.Length), i => Assert.InRange(shardOf[100 + i], 0, 1));
        Assert.Equal(2, controller.AttachedShards.Length);
        AssertOnePartPerBandOnEveryShard(controller);
    }

    [Fact]
    public async Task SetShardCount_ShrinkWhileRequestWaits_ExpiresThenShardDropped()
    {
        var time = new TimerCountingTimeProvider();
        var (controller, _, _) = Create(new FlowControlOptions { ShardCount = 2, DefaultRequestTtl = TimeSpan.FromSeconds(1) }, time);
        Task<FlowControlResult> waiting = Enqueue(controller, FlowOn(controller, 1), 0, 1);

        controller.SetShardCount(1);
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(2, controller.AttachedShards.Length);
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(FlowControlOutcome.EvictedTtl, (await waiting.WaitAsync(s_wait)).Outcome);
        Assert.Equal(0, Assert.Single(controller.AttachedShards).Index);
        Assert.Equal(0, time.ArmedTimers);
    }

    [Fact]
    public void SetShardCount_EmptyShardsRemovedThenAddedBack_DroppedAtOnceAndSlotsReused()
    {
        var (controller, _, _) = Create(new FlowControlOptions { ShardCount = 3 });
        _ = Enqueue(controller, FlowOn(controller, 0), 7, 1); // on the shard that stays

        controller.SetShardCount(1);
        Assert.Single(controller.AttachedShards);

        controller.SetShardCount(3);
        Assert.Equal([0, 1, 2], controller.AttachedShards.Select(s => s.Index).Order());
        AssertOnePartPerBandOnEveryShard(controller);
    }

    [Fact]
    public async Task SetShardCount_OutOfRangeOrDisposed_Throws()
    {
        var (controller, _, _) = Create(new FlowControlOptions());

        Assert.Throws<ArgumentOutOfRangeException>(() => controller.SetShardCount(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => controller.SetShardCount(1025));
        await controller.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(() => controller.SetShardCount(2));
    }

    [Fact]
    public async Task SetShardCount_RacingJustInTimeProvisioningAndDispatch_OneBandPerPriorityOnEveryShardNothingLost()
    {
        const int Rounds = 20;
        const int PerRound = 16;
        var (controller, gate, observer) = Create(new FlowControlOptions { ShardCount = 2 });
        var results = new ConcurrentBag<(int Priority, Task<FlowControlResult> Result)>();
        using var stop = new CancellationTokenSource();

        // Scales between 1 and 6 shards while a trickle of dispatches lets draining shards empty and detach.
        var scaler = new Thread(() =>
        {
            var random = new Random(3);
            while (!stop.IsCancellationRequested)
            {
                controller.SetShardCount(random.Next(1, 7));
                if (random.Next(4) == 0)
                {
                    gate.Finish(gate.InFlight);
                    gate.Slots = random.Next(0, 8);
                    controller.NotifyCapacityChanged();
                }

                Thread.Yield();
            }
        });
        scaler.Start();

        for (int round = 0; round < Rounds; round++)
        {
            int priority = 100 + round;
            using var start = new Barrier(PerRound);
            Thread[] threads = [.. Enumerable.Range(0, PerRound).Select(i => new Thread(() =>
            {
                start.SignalAndWait();
                results.Add((priority, Enqueue(controller, $"tenant-{i}", priority, (priority * 1000) + i)));
            }))];
            Array.ForEach(threads, thread => thread.Start());
            Array.ForEach(threads, thread => thread.Join());
        }

        await stop.CancelAsync();
        scaler.Join();

        AssertOnePartPerBandOnEveryShard(controller);
        Assert.Equal(1 + Rounds, controller.BandsCreated); // band 0, then one per new priority
        Assert.Equal(Rounds + 1, controller.Priorities.Count);

        gate.OpenWide();
        controller.NotifyCapacityChanged();
        foreach ((int priority, Task<FlowControlResult> result) in results)
        {
            FlowControlResult outcome = await result.WaitAsync(s_wait);
            Assert.Equal((FlowControlOutcome.Dispatched, priority), Summary(outcome));
        }

        List<long> ids = observer.DispatchedIds();
        Assert.Equal(Rounds * PerRound, ids.Count);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(controller.ShardCount, controller.AttachedShards.Length);
        AssertOnePartPerBandOnEveryShard(controller);
    }

    private static (FlowControlOutcome, int) Summary(FlowControlResult result) => (result.Outcome, result.EffectivePriority);
}
