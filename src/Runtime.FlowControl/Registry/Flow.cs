using Runtime.FlowControl.Policies;

namespace Runtime.FlowControl.Registry;

/// <summary>One flow (fairness id × priority) in one shard: its queue. Owned by the shard's dispatcher.</summary>
internal sealed class Flow(string fairnessId, IOrderingPolicy ordering)
{
    public string FairnessId { get; } = fairnessId;

    public ItemHeap Queue { get; } = new(ordering, deadlineIndex: false);

    /// <summary>In <see cref="ShardBand.ActiveFlows"/> (has queued items).</summary>
    public bool Active;

    /// <summary>When the flow last became empty (timestamp units).</summary>
    public long IdleSince;
}

/// <summary>
/// A band's per-shard part: its flows and which of them have work. Owned by the shard's
/// dispatcher (no locks: only the thread holding the shard's dispatch role touches it).
/// </summary>
internal sealed class ShardBand(PriorityBand band)
{
    public PriorityBand Band { get; } = band;

    public Dictionary<string, Flow> Flows { get; } = new(StringComparer.Ordinal);

    public List<Flow> ActiveFlows { get; } = [];

    /// <summary>Items linked into this shard's flows of the band.</summary>
    public int Count;

    /// <summary>Fairness policy state (round-robin cursor).</summary>
    public int FairnessCursor;

    public Flow GetOrCreateFlow(string fairnessId)
    {
        if (!Flows.TryGetValue(fairnessId, out Flow? flow))
        {
            flow = new Flow(fairnessId, Band.Options.OrderingPolicy);
            Flows.Add(fairnessId, flow);
        }

        return flow;
    }

    public void Link(FlowItem item, Flow flow)
    {
        flow.Queue.Push(item);
        item.Flow = flow;
        Count++;
        if (!flow.Active)
        {
            flow.Active = true;
            ActiveFlows.Add(flow);
        }
    }

    /// <summary>Unlinks <paramref name="item"/> from its flow if linked.</summary>
    public void Unlink(FlowItem item, long now)
    {
        Flow? flow = item.Flow;
        if (flow is null || !flow.Queue.Remove(item))
        {
            return;
        }

        item.Flow = null;
        Count--;
        if (flow.Queue.Count == 0)
        {
            Deactivate(flow, ActiveFlows.IndexOf(flow), now);
        }
    }

    /// <summary>Takes the next item of the band by its fairness and ordering policies.</summary>
    public FlowItem TakeNext(long now)
    {
        int index = Band.Options.FairnessPolicy.SelectFlow(new ActiveFlowsView(ActiveFlows, Band.Options.OrderingPolicy), ref FairnessCursor);
        Flow flow = ActiveFlows[index];
        FlowItem item = flow.Queue.Pop();
        item.Flow = null;
        Count--;
        if (flow.Queue.Count == 0)
        {
            Deactivate(flow, index, now);
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

    // Keeps the active flows in arrival order (so round-robin visits each once per pass): O(active
    // flows) when a flow empties, which is rare next to dispatches.
    private void Deactivate(Flow flow, int index, long now)
    {
        ActiveFlows.RemoveAt(index);
        if (index < FairnessCursor)
        {
            FairnessCursor--;
        }

        flow.Active = false;
        flow.IdleSince = now;
    }
}
