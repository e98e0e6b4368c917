namespace Runtime.FlowControl.Policies;

/// <summary>The ordering facts of one queued request.</summary>
/// <param name="Sequence">Admission order within a shard (strictly increasing).</param>
/// <param name="EnqueueTimestamp">Admission time in <see cref="TimeProvider"/> timestamp units.</param>
/// <param name="Deadline">Enqueue time + TTL in the same units; <see cref="long.MaxValue"/> when there is no TTL.</param>
/// <param name="SloDeadline">Enqueue time + the request's time-to-first-token objective (<c>x-slo-ttft-ms</c>); <see cref="long.MaxValue"/> when it has none.</param>
public readonly record struct QueueOrderKey(long Sequence, long EnqueueTimestamp, long Deadline, long SloDeadline = long.MaxValue);

/// <summary>Orders the requests of one flow (and, for global-strict fairness, the heads of a band's flows).</summary>
public interface IOrderingPolicy
{
    string TypeName { get; }

    /// <summary>Negative when <paramref name="x"/> should be served before <paramref name="y"/>; never 0 for distinct requests.</summary>
    int Compare(in QueueOrderKey x, in QueueOrderKey y);
}

/// <summary>First come, first served (<c>fcfs-ordering-policy</c>, the default).</summary>
public sealed class FcfsOrderingPolicy : IOrderingPolicy
{
    public static readonly FcfsOrderingPolicy Instance = new();

    public string TypeName => FlowControlPolicyTypes.FcfsOrdering;

    public int Compare(in QueueOrderKey x, in QueueOrderKey y) => x.Sequence.CompareTo(y.Sequence);
}

/// <summary>Earliest deadline first, deadline = enqueue + TTL (<c>edf-ordering-policy</c>); no TTL sorts last, ties FCFS.</summary>
public sealed class EdfOrderingPolicy : IOrderingPolicy
{
    public static readonly EdfOrderingPolicy Instance = new();

    public string TypeName => FlowControlPolicyTypes.EdfOrdering;

    public int Compare(in QueueOrderKey x, in QueueOrderKey y)
    {
        int byDeadline = x.Deadline.CompareTo(y.Deadline);
        return byDeadline != 0 ? byDeadline : x.Sequence.CompareTo(y.Sequence);
    }
}

/// <summary>
/// Earliest SLO deadline first, deadline = arrival + the <c>x-slo-ttft-ms</c> header
/// (<c>slo-deadline-ordering-policy</c>, GIE v1.5.0); requests without one sort last, ties FCFS.
/// </summary>
public sealed class SloDeadlineOrderingPolicy : IOrderingPolicy
{
    public static readonly SloDeadlineOrderingPolicy Instance = new();

    public string TypeName => FlowControlPolicyTypes.SloDeadlineOrdering;

    public int Compare(in QueueOrderKey x, in QueueOrderKey y)
    {
        int byDeadline = x.SloDeadline.CompareTo(y.SloDeadline);
        return byDeadline != 0 ? byDeadline : x.Sequence.CompareTo(y.Sequence);
    }
}
