using System.Collections.Concurrent;
using Runtime.FlowControl.Policies;
using Runtime.FlowControl.Tests.Support;

namespace Runtime.FlowControl.Tests;

/// <summary>
/// Many producers, a gate that opens and closes, a control plane adding and removing bands, TTLs,
/// cancellations and idle-flow collection, all at once; then checks that no request is lost,
/// duplicated, or dispatched out of priority (or FCFS) order.
/// </summary>
/// <remarks>
/// "Out of priority order", precisely: a request D of (effective) priority p is dispatched from
/// shard S in a dispatch cycle that started at logical time C, while a request X of priority
/// q &gt; p mapped to the same shard had been admitted (its <c>EnqueueAndWaitAsync</c> had
/// returned) before C and had not yet left the queue (dispatched, expired, cancelled) when D was
/// dispatched. Requests admitted after C are not visible to that cycle and may legitimately
/// come after D; a closed gate for X's band means nothing lower goes either, so gate changes
/// never excuse a violation. Priority order and fairness are per shard by design (a flow lives
/// in one shard). For cancellations only a lower bound of the leaving time is known (the tick
/// before <c>Cancel</c>); the check uses it, so it never reports a false violation.
/// "Out of FCFS order": A and B of the same flow, A admitted before B's call began, both
/// dispatched, and B dispatched first.
/// </remarks>
public sealed class FlowControllerStressTests
{
    private sealed class Record
    {
        public long Id;
        public string FairnessId = "";
        public int Shard;
        public long CallStart;
        public long Admitted;
        public long CancelTick = long.MaxValue;
        public FlowControlResult Result;
    }

    private sealed class RisingUsageLimit : IUsageLimitPolicy
    {
        public string TypeName => "test-rising-usage-limit";

        public double GetLimit(int priority) => 0.5 + (priority * 0.1);
    }

    [Fact]
    public async Task EnqueueAndWaitAsync_ConcurrentProducersGateAndBandChurn_NothingLostDuplicatedOrOutOfOrder()
    {
        const int Producers = 4;
        const int PerProducer = 2500;
        var options = new FlowControlOptions
        {
            ShardCount = 3,
            FlowIdleTimeout = TimeSpan.FromMilliseconds(5),
            DefaultPriorityBand = new PriorityBandOptions { MaxBytes = 0 },
            UsageLimitPolicy = new RisingUsageLimit(),
        };
        var gate = new FakeSaturationDetector(slots: 0);
        var controller = new FlowController(options, new FlowControlDependencies { SaturationDetector = gate });
        var observer = new RecordingObserver(options.ShardCount);
        RecordingObserver.Attach(controller, observer);
        using var stop = new CancellationTokenSource();
        var records = new ConcurrentBag<Record>();

        Task gateLoop = Task.Run(async () =>
        {
            var random = new Random(1);
            while (!stop.IsCancellationRequested)
            {
                gate.Slots = random.Next(0, 40);
                if (random.Next(3) == 0)
                {
                    gate.Finish(gate.InFlight);
                }

                controller.NotifyCapacityChanged();
                await Task.Delay(random.Next(0, 3));
            }
        });
        Task controlPlane = Task.Run(async () =>
        {
            var random = new Random(2);
            while (!stop.IsCancellationRequested)
            {
                controller.SetDesiredPriorities(Enumerable.Range(1, 8).Where(_ => random.Next(2) == 0));
                await Task.Delay(random.Next(0, 2));
            }
        });

        Task<List<Task>>[] producers = Enumerable.Range(0, Producers).Select(p => Task.Run(async () =>
        {
            var random = new Random(100 + p);
            var waits = new List<Task>();
            for (int i = 0; i < PerProducer; i++)
            {
                var record = new Record { Id = (p * PerProducer) + i + 1, FairnessId = $"p{p}-f{i % 3}" };
                record.Shard = controller.ShardFor(record.FairnessId).Index;
                records.Add(record);
                TimeSpan ttl = random.Next(10) == 0 ? TimeSpan.FromMilliseconds(random.Next(1, 30)) : TimeSpan.Zero;
                CancellationTokenSource? cts = random.Next(10) == 0 ? new CancellationTokenSource() : null;
                record.CallStart = observer.Tick();
                ValueTask<FlowControlResult> pending = controller.EnqueueAndWaitAsync(
                    new FlowControlRequest(record.FairnessId, random.Next(0, 9), record.Id, ttl), cts?.Token ?? default);
                record.Admitted = observer.Tick();
                waits.Add(Complete(record, pending, cts, random.Next(0, 5)));
                if (i % 50 == 0)
                {
                    await Task.Delay(1);
                }
            }

            return waits;
        })).ToArray();

        List<Task> all = (await Task.WhenAll(producers)).SelectMany(w => w).ToList();
        await Task.Delay(20);
        await stop.CancelAsync();
        await Task.WhenAll(gateLoop, controlPlane);
        gate.OpenWide();
        controller.NotifyCapacityChanged();
        await Task.WhenAll(all).WaitAsync(TimeSpan.FromSeconds(20));
        await controller.DisposeAsync();

        Record[] done = [.. records];
        DispatchEvent[] events = [.. observer.Events];

        // Nothing lost: every request has an outcome, and the counters agree.
        Assert.Equal(Producers * PerProducer, done.Length);
        Assert.Equal(done.Length, controller.GetStats().OutcomeCounts.Sum());
        Assert.Equal(0, controller.GetStats().QueuedRequests);
        Assert.Contains(done, r => r.Result.Outcome == FlowControlOutcome.EvictedTtl);
        Assert.Contains(done, r => r.Result.Outcome == FlowControlOutcome.EvictedCancelled);
        Assert.Contains(done, r => r.Result.Outcome == FlowControlOutcome.Dispatched && r.Result.EffectivePriority == 0);

        // Nothing duplicated: at most one dispatcher decision per request, matching its outcome.
        Assert.Equal(events.Length, events.Select(e => e.Id).Distinct().Count());
        var byId = events.ToDictionary(e => e.Id);
        foreach (Record record in done)
        {
            if (record.Result.Outcome is FlowControlOutcome.Dispatched or FlowControlOutcome.EvictedTtl)
            {
                Assert.Equal(record.Result.Outcome, byId[record.Id].Outcome);
                Assert.Equal(record.Result.EffectivePriority, byId[record.Id].Priority);
                Assert.Equal(record.Shard, byId[record.Id].Shard);
            }
            else
            {
                Assert.False(byId.ContainsKey(record.Id), $"request {record.Id} ({record.Result.Outcome}) also had a dispatcher decision");
            }
        }

        // Priority order per shard.
        int violations = 0;
        string? example = null;
        foreach (IGrouping<int, Record> shard in done.GroupBy(r => r.Shard))
        {
            Record[] waiting = shard.Where(r => r.Result.Outcome is not (FlowControlOutcome.RejectedCapacity or FlowControlOutcome.RejectedOther or FlowControlOutcome.RejectedShutdown)).ToArray();
            foreach (DispatchEvent d in events.Where(e => e.Shard == shard.Key && e.Outcome == FlowControlOutcome.Dispatched))
            {
                foreach (Record x in waiting)
                {
                    if (x.Result.EffectivePriority > d.Priority && x.Admitted < d.CycleStart && LeftAtLeast(x, byId) > d.At)
                    {
                        violations++;
                        example ??= $"request {d.Id} (priority {d.Priority}) dispatched at {d.At} while {x.Id} (priority {x.Result.EffectivePriority}, admitted {x.Admitted}) waited";
                    }
                }
            }
        }

        Assert.True(violations == 0, $"{violations} priority-order violations, e.g. {example}");

        // FCFS within each flow.
        foreach (IGrouping<(string, int), Record> flow in done.Where(r => r.Result.IsDispatched).GroupBy(r => (r.FairnessId, r.Result.EffectivePriority)))
        {
            Record[] items = [.. flow];
            foreach (Record a in items)
            {
                foreach (Record b in items)
                {
                    Assert.False(a.Admitted < b.CallStart && byId[b.Id].At < byId[a.Id].At, $"flow {flow.Key}: {b.Id} dispatched before earlier {a.Id}");
                }
            }
        }

        async Task Complete(Record record, ValueTask<FlowControlResult> pending, CancellationTokenSource? cts, int cancelAfterMs)
        {
            if (cts is not null)
            {
                await Task.Delay(cancelAfterMs);
                record.CancelTick = observer.Tick();
                await cts.CancelAsync();
            }

            record.Result = await pending;
            cts?.Dispose();
        }
    }

    private static long LeftAtLeast(Record x, Dictionary<long, DispatchEvent> events) =>
        events.TryGetValue(x.Id, out DispatchEvent left) ? left.At
        : x.Result.Outcome == FlowControlOutcome.EvictedCancelled ? x.CancelTick
        : long.MinValue;
}
