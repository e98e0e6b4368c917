using Runtime.FlowControl.Policies;

namespace Runtime.FlowControl.Registry;

/// <summary>One flow (fairness id × priority) in one shard: its queue. Owned by the shard's dispatcher.</summary>
internal sealed class Flow(string fairnessId, ShardBand owner)
{
    public string FairnessId { get; } = fairnessId;

    /// <summary>The band-and-shard part this flow belongs to (so an item can be unlinked from its flow alone).</summary>
    public ShardBand Owner { get; } = owner;

    /// <summary>Ordered by the owner's ordering policy; replaced (same items, new order) when a reload changes it.</summary>
    public ItemHeap Queue { get; set; } = new(owner.Ordering, deadlineIndex: false);

    /// <summary>Has queued items (so is in its owner's <see cref="ShardBand.ActiveFlows"/> or best-head heap).</summary>
    public bool Active;

    /// <summary>Slot in the owner's <see cref="FlowHeap"/> (global-strict fairness), -1 when not in it.</summary>
    public int HeapIndex = -1;

    /// <summary>When the flow last became empty (timestamp units).</summary>
    public long IdleSince;
}

/// <summary>
/// A band's per-shard part: its flows and which of them have work. Owned by the shard's
/// dispatcher (no locks: only the thread holding the shard's dispatch role touches it).
/// </summary>
/// <remarks>
/// Global-strict fairness (the default) is served from a <see cref="FlowHeap"/> of the non-empty
/// flows keyed by their heads, O(log flows) per dispatch; it picks exactly the flow
/// <see cref="GlobalStrictFairnessPolicy.SelectFlow"/> would, whose O(flows) scan cost ~30 µs per
/// dispatch with 10,000 waiting flows (<c>FlowControlScalingBenchmark.Backlog</c>). Other fairness
/// policies see the non-empty flows in arrival order through <see cref="ActiveFlowsView"/>.
/// <para>A reload swaps the band's policies under it (<see cref="PriorityBand.Reconfigure"/>); this
/// part takes them up lazily, on the dispatcher's next step that links or takes an item
/// (<see cref="SyncPolicies"/>): a new ordering re-heaps each flow's queued items, a new fairness
/// rebuilds the set of non-empty flows. Queued items stay queued; only decisions after the swap
/// use the new policies.</para>
/// </remarks>
internal sealed class ShardBand
{
    private FlowHeap? _bestHead;
    private PriorityBandOptions _applied;

    public ShardBand(PriorityBand band)
    {
        Band = band;
        _applied = band.Options;
        Ordering = _applied.OrderingPolicy;
        Fairness = _applied.FairnessPolicy;
        if (Fairness is GlobalStrictFairnessPolicy)
        {
            _bestHead = new FlowHeap(Ordering);
        }
    }

    public PriorityBand Band { get; }

    /// <summary>The ordering policy this part's queues are built on (the band's, as of the last <see cref="SyncPolicies"/>).</summary>
    public IOrderingPolicy Ordering { get; private set; }

    /// <summary>The fairness policy this part serves by (as of the last <see cref="SyncPolicies"/>).</summary>
    public IFairnessPolicy Fairness { get; private set; }

    public Dictionary<string, Flow> Flows { get; } = new(StringComparer.Ordinal);

    /// <summary>Non-empty flows in arrival order, for fairness policies other than global-strict.</summary>
    public List<Flow> ActiveFlows { get; } = [];

    /// <summary>Items linked into this shard's flows of the band.</summary>
    public int Count;

    /// <summary>Fairness policy state (round-robin cursor).</summary>
    public int FairnessCursor;

    public Flow GetOrCreateFlow(string fairnessId)
    {
        SyncPolicies();
        if (!Flows.TryGetValue(fairnessId, out Flow? flow))
        {
            flow = new Flow(fairnessId, this);
            Flows.Add(fairnessId, flow);
        }

        return flow;
    }

    public void Link(FlowItem item, Flow flow)
    {
        SyncPolicies();
        flow.Queue.Push(item);
        item.Flow = flow;
        Count++;
        if (!flow.Active)
        {
            flow.Active = true;
            if (_bestHead is null)
            {
                ActiveFlows.Add(flow);
            }
            else
            {
                _bestHead.Add(flow);
            }
        }
        else if (_bestHead is not null && ReferenceEquals(flow.Queue.Peek(), item))
        {
            // A new head (EDF: an earlier deadline) moves its flow up.
            _bestHead.Update(flow);
        }
    }

    /// <summary>Unlinks <paramref name="item"/> from its flow (in this band and shard) if linked.</summary>
    public void Unlink(FlowItem item, long now)
    {
        Flow? flow = item.Flow;
        if (flow is null)
        {
            return;
        }

        bool wasHead = flow.Queue.Count > 0 && ReferenceEquals(flow.Queue.Peek(), item);
        if (!flow.Queue.Remove(item))
        {
            return;
        }

        item.Flow = null;
        Count--;
        if (flow.Queue.Count == 0)
        {
            Deactivate(flow, -1, now);
        }
        else if (wasHead)
        {
            _bestHead?.Update(flow);
        }
    }

    /// <summary>Takes the next item of the band by its fairness and ordering policies.</summary>
    public FlowItem TakeNext(long now)
    {
        SyncPolicies();
        Flow flow;
        int index = -1;
        if (_bestHead is not null)
        {
            flow = _bestHead.Peek();
        }
        else
        {
            index = Fairness.SelectFlow(new ActiveFlowsView(ActiveFlows, Ordering), ref FairnessCursor);
            flow = ActiveFlows[index];
        }

        FlowItem item = flow.Queue.Pop();
        item.Flow = null;
        Count--;
        if (flow.Queue.Count == 0)
        {
            Deactivate(flow, index, now);
        }
        else
        {
            _bestHead?.Update(flow);
        }

        return item;
    }

    /// <summary>Forgets flows empty since before <paramref name="idleBefore"/>; returns how many remain.</summary>
    public int CollectIdleFlows(long idleBefore, List<string> scratch)
    {
        scratch.Clear();
        foreach (KeyValuePair<string, Flow> entry in Flows)
        {
            if (!entry.Value.Active && entry.Value.IdleSince <= idleBefore)
            {
                scratch.Add(entry.Key);
            }
        }

        foreach (string key in scratch)
        {
            Flows.Remove(key);
        }

        return Flows.Count;
    }

    /// <summary>
    /// Takes up the band's current policies if a reload changed them (dispatcher thread only; one
    /// volatile read when nothing changed). Every queued item stays in its flow.
    /// </summary>
    public void SyncPolicies()
    {
        PriorityBandOptions options = Band.Options;
        if (ReferenceEquals(options, _applied))
        {
            return;
        }

        _applied = options;
        bool reorder = !ReferenceEquals(options.OrderingPolicy, Ordering);
        if (!reorder && ReferenceEquals(options.FairnessPolicy, Fairness))
        {
            return; // only limits changed
        }

        // The non-empty flows, in the order the old structure kept them (arrival order, or by head).
        var active = new List<Flow>(ActiveFlows);
        if (_bestHead is not null)
        {
            foreach (Flow flow in Flows.Values)
            {
                if (flow.Active)
                {
                    active.Add(flow);
                }
            }

            active.Sort(static (a, b) => a.Queue.Peek().Key.Sequence.CompareTo(b.Queue.Peek().Key.Sequence));
        }

        Ordering = options.OrderingPolicy;
        Fairness = options.FairnessPolicy;
        if (reorder)
        {
            foreach (Flow flow in Flows.Values)
            {
                flow.Queue = flow.Queue.Reordered(Ordering);
            }
        }

        ActiveFlows.Clear();
        FairnessCursor = 0;
        _bestHead = Fairness is GlobalStrictFairnessPolicy ? new FlowHeap(Ordering) : null;
        foreach (Flow flow in active)
        {
            flow.HeapIndex = -1;
            if (_bestHead is null)
            {
                ActiveFlows.Add(flow);
            }
            else
            {
                _bestHead.Add(flow);
            }
        }
    }

    // The arrival-order list (round-robin visits each flow once per pass) costs O(active flows)
    // when a flow empties; the heap O(log flows).
    private void Deactivate(Flow flow, int index, long now)
    {
        if (_bestHead is not null)
        {
            _bestHead.Remove(flow);
        }
        else
        {
            if (index < 0)
            {
                index = ActiveFlows.IndexOf(flow);
            }

            ActiveFlows.RemoveAt(index);
            if (index < FairnessCursor)
            {
                FairnessCursor--;
            }
        }

        flow.Active = false;
        flow.IdleSince = now;
    }
}
