using Runtime.FlowControl.Registry;

namespace Runtime.FlowControl.Policies;

/// <summary>The non-empty flows of one band in one shard, as a fairness policy sees them.</summary>
public readonly struct ActiveFlowsView
{
    private readonly List<Flow> _flows;

    internal ActiveFlowsView(List<Flow> flows, IOrderingPolicy ordering)
    {
        _flows = flows;
        Ordering = ordering;
    }

    /// <summary>Number of flows with at least one queued request (always &gt; 0 when a policy is asked).</summary>
    public int Count => _flows.Count;

    /// <summary>The band's ordering policy.</summary>
    public IOrderingPolicy Ordering { get; }

    /// <summary>The key of the request flow <paramref name="index"/> would serve next.</summary>
    public QueueOrderKey HeadOf(int index) => _flows[index].Queue.Peek().Key;

    /// <summary>A stable identity of flow <paramref name="index"/> (its fairness id).</summary>
    public string FairnessIdOf(int index) => _flows[index].FairnessId;
}

/// <summary>Chooses which flow of a band is served next.</summary>
public interface IFairnessPolicy
{
    string TypeName { get; }

    /// <summary>Returns the index (0 ≤ index &lt; <see cref="ActiveFlowsView.Count"/>) of the flow to serve.</summary>
    /// <param name="flows">The band's non-empty flows in this shard.</param>
    /// <param name="cursor">Per band-and-shard state owned by the policy (starts at 0; only the dispatcher touches it).</param>
    int SelectFlow(ActiveFlowsView flows, ref int cursor);
}

/// <summary>
/// <c>global-strict-fairness-policy</c> (GIE "BestHead", the default): the flow whose head comes
/// first under the band's ordering policy; with FCFS this is the oldest request of the band.
/// </summary>
/// <remarks>
/// The dispatcher recognises this policy and keeps the band's flows in a heap keyed by their heads,
/// which yields the same choice in O(log flows); <see cref="SelectFlow"/> is the O(flows) reference.
/// </remarks>
public sealed class GlobalStrictFairnessPolicy : IFairnessPolicy
{
    public static readonly GlobalStrictFairnessPolicy Instance = new();

    public string TypeName => FlowControlPolicyTypes.GlobalStrictFairness;

    public int SelectFlow(ActiveFlowsView flows, ref int cursor)
    {
        int best = 0;
        QueueOrderKey bestKey = flows.HeadOf(0);
        for (int i = 1; i < flows.Count; i++)
        {
            QueueOrderKey key = flows.HeadOf(i);
            if (flows.Ordering.Compare(key, bestKey) < 0)
            {
                best = i;
                bestKey = key;
            }
        }

        return best;
    }
}

/// <summary><c>round-robin-fairness-policy</c>: one request from each non-empty flow in turn.</summary>
public sealed class RoundRobinFairnessPolicy : IFairnessPolicy
{
    public static readonly RoundRobinFairnessPolicy Instance = new();

    public string TypeName => FlowControlPolicyTypes.RoundRobinFairness;

    public int SelectFlow(ActiveFlowsView flows, ref int cursor)
    {
        int index = (uint)cursor < (uint)flows.Count ? cursor : 0;
        cursor = index + 1;
        return index;
    }
}
