using System.Collections.Concurrent;
using Runtime.FlowControl.Policies;

namespace Runtime.FlowControl.Registry;

/// <summary>
/// One shard: a lock-free inbox producers push into and a dispatcher that owns every queue of
/// the shard. There is no dispatcher thread: whoever signals work (a producer, a cancellation,
/// the TTL timer, a capacity change) runs the dispatch cycle inline if nobody else is, or leaves
/// a "run again" mark for the thread that is.
/// </summary>
/// <remarks>
/// <para>Dispatch role: <c>_role</c> is 0 idle, 1 running, 2 running with more work signalled. It
/// only changes through <see cref="Interlocked.CompareExchange(ref int, int, int)"/> (full fences),
/// which hands the shard's plain fields (flows, heaps, counts) from one dispatching thread to the
/// next. A signal that finds the role taken sets 2; the holder re-runs the cycle before it lets
/// go, so no signal is lost and no thread ever waits for another.</para>
/// <para>Inbox: a <see cref="ConcurrentQueue{T}"/> (multi-producer; allocation-free once its
/// segment is warm). Additions and removals (from cancellation callbacks) share it, so a removal
/// is never seen before the addition of the same item that preceded it. A cancellation that
/// fires before its item is published is handled by <see cref="FlowItem.RemovalSeen"/>.</para>
/// <para>Ordering claim checked by the stress test: every request admitted before a cycle starts
/// is linked before that cycle dispatches anything, and a cycle dispatches only from the highest
/// band of the shard that has queued requests; if that band's gate is closed, nothing lower goes.</para>
/// <para>Removal (<see cref="FlowController.SetShardCount"/>): admission and removal meet in a
/// Dekker handshake like a band's. A producer increments <c>_producers.Pending</c> (a full fence) and then
/// reads <c>_draining</c>; removal unpublishes the shard, then sets <c>_draining</c> with
/// <see cref="Interlocked.Exchange(ref int, int)"/>. So either the producer sees the shard draining
/// and backs out to the new table, or the dispatcher sees its request counted. <c>_producers.Pending</c>
/// drops when the dispatcher lets go of an item (both its inbox entries handled), so a draining
/// shard at zero has nothing queued and nothing in its inbox, and nothing can arrive: it detaches
/// and retires, and its slot may be reused by a new shard.</para>
/// </remarks>
internal sealed class Shard : IDisposable
{
    private readonly FlowController _owner;
    private readonly ConcurrentQueue<(FlowItem Item, bool Removal)> _inbox = new();
    private readonly ItemHeap _deadlines = new(EdfOrderingPolicy.Instance, deadlineIndex: true);
    private readonly List<string> _scratch = [];
    private readonly ITimer _timer;
    private int _role;
    private ProducerCounts _producers;
    private int _draining;
    private bool _retired;
    private int _timerFired;
    private long _timerDue = long.MaxValue;
    private long _nextIdleScan = long.MaxValue;

    public Shard(FlowController owner, int index, TimeProvider time)
    {
        _owner = owner;
        Index = index;
        _timer = time.CreateTimer(static state => ((Shard)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The shard's slot: its part of every band is <c>band.PerShard[Index]</c>.</summary>
    public int Index { get; }

    public bool IsDraining => Volatile.Read(ref _draining) != 0;

    private IDispatchObserver? Observer => _owner.Observer;

    /// <summary>Counts a request in; false (nothing counted) when the shard is being removed.</summary>
    public bool TryAdmit()
    {
        Interlocked.Increment(ref _producers.Pending);
        if (Volatile.Read(ref _draining) == 0)
        {
            return true;
        }

        Interlocked.Decrement(ref _producers.Pending);

        // Our count may have kept the dispatcher from detaching: let it look again.
        RequestDispatch();
        return false;
    }

    /// <summary>Stops admission (after the table that routes here was replaced).</summary>
    public void MarkDraining() => Interlocked.Exchange(ref _draining, 1);

    public long NextSequence() => Interlocked.Increment(ref _producers.Sequence);

    /// <summary>Publishes an armed item to the dispatcher and gets it dispatched or queued.</summary>
    public void Enqueue(FlowItem item)
    {
        _inbox.Enqueue((item, false));
        RequestDispatch();
    }

    /// <summary>The cancellation callback won the item: release it now, unlink it in the next cycle.</summary>
    public void FinishCancelled(FlowItem item)
    {
        _owner.Finish(item, FlowControlOutcome.EvictedCancelled, _owner.Time.GetTimestamp());
        _inbox.Enqueue((item, true));
        RequestDispatch();
    }

    /// <summary>Runs a dispatch cycle now, or makes the running dispatcher run one more.</summary>
    public void RequestDispatch()
    {
        while (true)
        {
            int role = Volatile.Read(ref _role);
            if (role == 0)
            {
                if (Interlocked.CompareExchange(ref _role, 1, 0) == 0)
                {
                    RunDispatcher();
                    return;
                }
            }
            else if (role == 1)
            {
                if (Interlocked.CompareExchange(ref _role, 2, 1) == 1)
                {
                    return;
                }
            }
            else
            {
                return;
            }
        }
    }

    public void Dispose() => _timer.Dispose();

    private void RunDispatcher()
    {
        while (true)
        {
            try
            {
                RunCycle();
            }
#pragma warning disable CA1031 // A policy or detector bug must not wedge the shard; it is logged and counted.
            catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
            {
                _owner.ReportDispatcherError(Index, ex);
            }

            if (Interlocked.CompareExchange(ref _role, 0, 1) == 1)
            {
                return;
            }

            // Was 2: more work was signalled while we ran.
            Interlocked.Exchange(ref _role, 1);
        }
    }

    private void RunCycle()
    {
        if (_retired)
        {
            // Detached: nothing can be queued here any more (see remarks); a late timer or signal.
            return;
        }

        TimeProvider time = _owner.Time;
        long start = time.GetTimestamp();
        Observer?.CycleStarted(Index);
        bool shutdown = _owner.IsShutdown;
        DrainInbox(start, shutdown);
        if (shutdown)
        {
            EvictAll(start);
            return;
        }

        if (Interlocked.Exchange(ref _timerFired, 0) != 0 || start >= _timerDue)
        {
            _timerDue = long.MaxValue;
        }

        ExpireDue(start);
        if (start >= _nextIdleScan)
        {
            CollectIdleFlows(start);
        }

        int dispatched = Dispatch(start);
        if (dispatched > 0)
        {
            _owner.RecordCycle(time.GetElapsedTime(start));
        }

        if (IsDraining && Volatile.Read(ref _producers.Pending) == 0)
        {
            _owner.Detach(this);
            _retired = true;
            _timer.Dispose();
            return;
        }

        ScheduleTimer(start);
    }

    private void DrainInbox(long now, bool shutdown)
    {
        while (_inbox.TryDequeue(out (FlowItem Item, bool Removal) entry))
        {
            FlowItem item = entry.Item;
            if (entry.Removal)
            {
                item.Flow?.Owner.Unlink(item, now);
                _deadlines.Remove(item);
                item.RemovalSeen = true;
                if (item.Placed)
                {
                    ReleaseItem(item);
                }

                continue;
            }

            item.Placed = true;
            if (!item.IsQueued)
            {
                // Cancelled before we saw it; whichever of the two entries comes second releases.
                if (item.RemovalSeen)
                {
                    ReleaseItem(item);
                }

                continue;
            }

            if (shutdown)
            {
                FinishHere(item, FlowControlOutcome.EvictedShutdown, now);
                continue;
            }

            ShardBand band = item.Band.PerShard[Index];
            int flowsBefore = band.Flows.Count;
            band.Link(item, band.GetOrCreateFlow(item.FairnessId));
            if (band.Flows.Count != flowsBefore && _nextIdleScan == long.MaxValue)
            {
                _nextIdleScan = now + _owner.IdleTicks;
            }

            if (item.Deadline != long.MaxValue)
            {
                _deadlines.Push(item);
            }
        }
    }

    private int Dispatch(long now)
    {
        PriorityBand[] bands = _owner.Table.Bands;
        int dispatched = 0;
        while (true)
        {
            ShardBand? top = null;
            int rank = 0;
            for (; rank < bands.Length; rank++)
            {
                ShardBand candidate = bands[rank].PerShard[Index];
                if (candidate.Count > 0)
                {
                    top = candidate;
                    break;
                }
            }

            // Strict priority: if the highest band with work may not go, nothing lower goes either.
            if (top is null || !_owner.IsGateOpen(top.Band.Priority, rank, bands.Length))
            {
                return dispatched;
            }

            FlowItem item = top.TakeNext(now);
            if (item.Deadline != long.MaxValue)
            {
                _deadlines.Remove(item);
            }

            if (item.TryFinish())
            {
                Observer?.Dispatched(Index, item);
                _owner.Detector.OnDispatched(item.Band.Priority);
                Complete(item, FlowControlOutcome.Dispatched, now);
                dispatched++;
            }
        }
    }

    private void ExpireDue(long now)
    {
        while (_deadlines.Count > 0 && _deadlines.Peek().Deadline <= now)
        {
            FlowItem item = _deadlines.Pop();
            if (item.TryFinish())
            {
                item.Flow?.Owner.Unlink(item, now);
                Observer?.Evicted(Index, item, FlowControlOutcome.EvictedTtl);
                Complete(item, FlowControlOutcome.EvictedTtl, now);
            }
        }
    }

    private void EvictAll(long now)
    {
        while (_deadlines.Count > 0)
        {
            _deadlines.Pop();
        }

        foreach (PriorityBand band in _owner.Table.Bands)
        {
            ShardBand shardBand = band.PerShard[Index];
            while (shardBand.Count > 0)
            {
                FlowItem item = shardBand.TakeNext(now);
                if (item.TryFinish())
                {
                    Observer?.Evicted(Index, item, FlowControlOutcome.EvictedShutdown);
                    Complete(item, FlowControlOutcome.EvictedShutdown, now);
                }
            }
        }
    }

    private void FinishHere(FlowItem item, FlowControlOutcome outcome, long now)
    {
        if (item.TryFinish())
        {
            Observer?.Evicted(Index, item, outcome);
            Complete(item, outcome, now);
        }
    }

    /// <summary>Finishes an item this dispatcher won and drops the shard's reference.</summary>
    private void Complete(FlowItem item, FlowControlOutcome outcome, long now)
    {
        item.DropCancellation();
        _owner.Finish(item, outcome, now);
        ReleaseItem(item);
    }

    /// <summary>The dispatcher is done with <paramref name="item"/> (every inbox entry of it handled).</summary>
    private void ReleaseItem(FlowItem item)
    {
        item.Release();
        Interlocked.Decrement(ref _producers.Pending);
    }

    private void CollectIdleFlows(long now)
    {
        int remaining = 0;
        long idleTicks = _owner.IdleTicks; // a reload may change it
        foreach (PriorityBand band in _owner.Table.Bands)
        {
            remaining += band.PerShard[Index].CollectIdleFlows(now - idleTicks, _scratch);
        }

        _nextIdleScan = remaining > 0 ? now + Math.Max(1, idleTicks / 2) : long.MaxValue;
    }

    private void ScheduleTimer(long now)
    {
        long due = _nextIdleScan;
        if (_deadlines.Count > 0)
        {
            due = Math.Min(due, _deadlines.Peek().Deadline);
        }

        if (due == long.MaxValue || due >= _timerDue)
        {
            return;
        }

        _timerDue = due;
        double ms = Math.Ceiling((due - now) * 1000.0 / _owner.Time.TimestampFrequency);
        try
        {
            _timer.Change(TimeSpan.FromMilliseconds(Math.Max(1, ms)), Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // Shutting down.
        }
    }

    private void OnTimer()
    {
        Interlocked.Exchange(ref _timerFired, 1);
        RequestDispatch();
    }
}

/// <summary>Test hook into the dispatcher (called on the dispatching thread, inside the cycle).</summary>
internal interface IDispatchObserver
{
    void CycleStarted(int shard);

    void Dispatched(int shard, FlowItem item);

    void Evicted(int shard, FlowItem item, FlowControlOutcome outcome);
}
