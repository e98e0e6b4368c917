using System.Diagnostics.Metrics;
using Runtime.Telemetry.Prometheus;

namespace Runtime.FlowControl.Stats;

/// <summary>
/// The flow-control family recorded inside the dispatcher: GIE v1.5.0's
/// <c>inference_extension_flow_control_dispatch_cycle_duration_seconds</c> and its llm-d v0.10 twin.
/// The per-request families (queue time, enqueue time, queue gauges) are recorded by the caller that
/// knows the request's model names (the endpoint picker's admission).
/// </summary>
internal static class FlowControlMetrics
{
    public const string MeterName = "Runtime.FlowControl";

    private const string Help = "[ALPHA] Distribution of time taken for each internal dispatch cycle in the Flow Control layer.";

    private static readonly Meter s_meter = new(MeterName);

    private static readonly Histogram<double> s_cycle = s_meter.CreateHistogram(
        "inference_extension_flow_control_dispatch_cycle_duration_seconds", unit: null, Help, tags: null, HistogramBuckets.Advice(HistogramBuckets.SchedulingSeconds));

    private static readonly Histogram<double> s_llmdCycle = s_meter.CreateHistogram(
        "llm_d_epp_flow_control_dispatch_cycle_duration_seconds", unit: null, Help, tags: null, HistogramBuckets.Advice(HistogramBuckets.SchedulingSeconds));

    /// <summary>One dispatch cycle that released work took <paramref name="duration"/>.</summary>
    public static void DispatchCycle(TimeSpan duration)
    {
        s_cycle.Record(duration.TotalSeconds);
        s_llmdCycle.Record(duration.TotalSeconds);
    }
}
