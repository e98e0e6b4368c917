using System.Collections.Concurrent;
using System.Threading.Tasks.Sources;
using Runtime.FlowControl.Policies;

namespace Runtime.FlowControl.Registry;

/// <summary>
/// One queued request: the awaitable the caller holds and the node the shard queues. Pooled.
/// </summary>
/// <remarks>
/// <para>Fate: <see cref="TryFinish"/> moves <c>_state</c> from queued to finished with one
/// <see cref="Interlocked.CompareExchange(ref int, int, int)"/>, so dispatch, TTL expiry,
/// cancellation and shutdown race safely and exactly one of them decides the outcome, releases
/// the capacity and completes the waiter.</para>
/// <para>Lifetime: up to three parties hold a reference — the caller until
/// <see cref="GetResult"/>, the shard until it has unlinked the item, and the cancellation
/// callback while it may still run. The last <see cref="Release"/> resets the item and returns it
/// to the pool; <see cref="ManualResetValueTaskSourceCore{TResult}.Version"/> catches a caller
/// that awaits a recycled item. Interlocked operations are full fences, so the fields written
/// before a release are visible to whoever reuses the item.</para>
/// <para>Shard-owned fields (heap indexes, flow, <see cref="Placed"/>, <see cref="RemovalSeen"/>)
/// are touched only by the thread holding that shard's dispatch role.</para>
/// </remarks>
internal sealed class FlowItem : IValueTaskSource<FlowControlResult>
{
    private const int StateFree = 0;
    private const int StateQueued = 1;
    private const int StateFinished = 2;

    private static readonly ConcurrentQueue<FlowItem> s_pool = new();
    private static readonly Action<object?> s_onCancelled = static state => ((FlowItem)state!).OnCancelled();

    private ManualResetValueTaskSourceCore<FlowControlResult> _core = new() { RunContinuationsAsynchronously = true };
    private int _state;
    private int _refs;

    public string FairnessId = "";
    public long Bytes;
    public long Sequence;
    public long EnqueueTimestamp;
    public long Deadline;
    public long SloDeadline = long.MaxValue;
    public PriorityBand Band = null!;
    public Shard Shard = null!;
    public CancellationTokenRegistration Registration;

    // Shard-owned.
    public Flow? Flow;
    public int QueueIndex = -1;
    public int DeadlineIndex = -1;
    public bool Placed;
    public bool RemovalSeen;

    public QueueOrderKey Key => new(Sequence, EnqueueTimestamp, Deadline, SloDeadline);

    public short Version => _core.Version;

    public bool IsQueued => Volatile.Read(ref _state) == StateQueued;

    public static FlowItem Rent() => s_pool.TryDequeue(out FlowItem? item) ? item : new FlowItem();

    /// <summary>Arms the item for one request; the caller and the shard each hold a reference.</summary>
    public void Arm(string fairnessId, long bytes, long sequence, long enqueueTimestamp, long deadline, PriorityBand band, Shard shard, long sloDeadline = long.MaxValue)
    {
        SloDeadline = sloDeadline;
        FairnessId = fairnessId;
        Bytes = bytes;
        Sequence = sequence;
        EnqueueTimestamp = enqueueTimestamp;
        Deadline = deadline;
        Band = band;
        Shard = shard;
        _refs = 2;
        Volatile.Write(ref _state, StateQueued);
    }

    /// <summary>Registers for cancellation (before the item is published to the shard).</summary>
    public void RegisterCancellation(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _refs);
        Registration = cancellationToken.UnsafeRegister(s_onCancelled, this);
    }

    /// <summary>
    /// Called by whoever finished the item other than the cancellation callback: drops the
    /// callback's reference if the callback can no longer run.
    /// </summary>
    public void DropCancellation()
    {
        if (Registration.Token.CanBeCanceled && Registration.Unregister())
        {
            Release();
        }
    }

    /// <summary>Decides the outcome; false when another party already did.</summary>
    public bool TryFinish() => Interlocked.CompareExchange(ref _state, StateFinished, StateQueued) == StateQueued;

    /// <summary>Completes the waiter (after a successful <see cref="TryFinish"/>).</summary>
    public void Complete(in FlowControlResult result) => _core.SetResult(result);

    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            Reset();
            s_pool.Enqueue(this);
        }
    }

    public FlowControlResult GetResult(short token)
    {
        FlowControlResult result = _core.GetResult(token);
        Release();
        return result;
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    private void OnCancelled()
    {
        if (TryFinish())
        {
            Shard.FinishCancelled(this);
        }

        Release();
    }

    private void Reset()
    {
        _core.Reset();
        _state = StateFree;
        FairnessId = "";
        Band = null!;
        Shard = null!;
        Registration = default;
        Flow = null;
        QueueIndex = -1;
        DeadlineIndex = -1;
        Placed = false;
        RemovalSeen = false;
    }
}
