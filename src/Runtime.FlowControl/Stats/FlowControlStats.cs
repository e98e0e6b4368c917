using Runtime.FlowControl.Registry;

namespace Runtime.FlowControl.Stats;

/// <summary>One band's numbers (summed over shards).</summary>
internal sealed record BandStats(int Priority, PriorityBandKind Kind, bool IsDraining, long QueuedRequests, long QueuedBytes, int Flows);

/// <summary>A point-in-time view for <c>inference_extension_flow_control_*</c> metrics.</summary>
/// <param name="QueueDurationByOutcome">Queue time histograms indexed by <see cref="FlowControlOutcome"/>.</param>
internal sealed record FlowControlStats(
    long QueuedRequests,
    long QueuedBytes,
    IReadOnlyList<BandStats> Bands,
    double LastSaturation,
    IReadOnlyList<HistogramSnapshot> QueueDurationByOutcome,
    HistogramSnapshot DispatchCycleDuration,
    IReadOnlyList<long> OutcomeCounts,
    long DispatcherErrors);
