using System.Collections.Concurrent;
using Runtime.FlowControl.Registry;

namespace Runtime.FlowControl.Tests.Support;

/// <summary>Records dispatcher events; request ids travel in <see cref="FlowControlRequest.ByteSize"/>.</summary>
internal sealed class RecordingObserver : IDispatchObserver
{
    private long _clock;

    public ConcurrentQueue<DispatchEvent> Events { get; } = new();

    /// <summary>Start tick of the current cycle, per shard (only the dispatching thread writes it).</summary>
    public long[] CycleStart { get; }

    public RecordingObserver(int shards) => CycleStart = new long[shards];

    /// <summary>A global logical clock shared with the test's producers.</summary>
    public long Tick() => Interlocked.Increment(ref _clock);

    public void CycleStarted(int shard) => CycleStart[shard] = Tick();

    public void Dispatched(int shard, FlowItem item) =>
        Events.Enqueue(new DispatchEvent(item.Bytes, shard, item.Band.Priority, item.FairnessId, FlowControlOutcome.Dispatched, CycleStart[shard], Tick()));

    public void Evicted(int shard, FlowItem item, FlowControlOutcome outcome) =>
        Events.Enqueue(new DispatchEvent(item.Bytes, shard, item.Band.Priority, item.FairnessId, outcome, CycleStart[shard], Tick()));

    public List<long> DispatchedIds() => [.. Events.Where(e => e.Outcome == FlowControlOutcome.Dispatched).Select(e => e.Id)];

    /// <summary>Observes every shard of <paramref name="controller"/>, including shards added later (size <see cref="CycleStart"/> for their slots).</summary>
    public static void Attach(FlowController controller, RecordingObserver observer) => controller.Observer = observer;
}

internal readonly record struct DispatchEvent(long Id, int Shard, int Priority, string FairnessId, FlowControlOutcome Outcome, long CycleStart, long At);
