using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Scheduling.Framework;

namespace Runtime.Scheduling.Scorers;

/// <summary>
/// <c>queue-scorer</c>: min-max normalised waiting queue, shortest = 1, longest = 0, all equal = 1.
/// Reads metrics as scraped: an endpoint never scraped counts as an empty queue, as in GIE.
/// </summary>
internal sealed class QueueScorer(string name) : IScorer, IMetricsConsumer
{
    public string TypeName => BuiltInPlugins.QueueScorer;

    public string Name { get; } = name;

    public MetricKinds RequiredMetrics => MetricKinds.WaitingQueue;

    public void Score(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, Span<double> scores) =>
        MinMax.LowerIsBetter(candidates, scores, static e => e.Metrics.WaitingQueueSize);
}

/// <summary><c>running-requests-size-scorer</c>: min-max normalised running requests, fewest = 1, all equal = 1.</summary>
internal sealed class RunningRequestsSizeScorer(string name) : IScorer, IMetricsConsumer
{
    public string TypeName => BuiltInPlugins.RunningRequestsSizeScorer;

    public string Name { get; } = name;

    public MetricKinds RequiredMetrics => MetricKinds.RunningRequests;

    public void Score(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, Span<double> scores) =>
        MinMax.LowerIsBetter(candidates, scores, static e => e.Metrics.RunningRequests);
}

/// <summary>
/// <c>kv-cache-utilization-scorer</c> (and its former name <c>kv-cache-scorer</c>): 1 − KV-cache
/// utilisation. A NaN or out-of-range report is clamped by the profile (NaN → 0).
/// </summary>
internal sealed class KvCacheUtilizationScorer(string name, string typeName = BuiltInPlugins.KvCacheUtilizationScorer) : IScorer, IMetricsConsumer
{
    public string TypeName { get; } = typeName;

    public string Name { get; } = name;

    public MetricKinds RequiredMetrics => MetricKinds.KvCacheUsage;

    public void Score(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, Span<double> scores)
    {
        for (var i = 0; i < candidates.Length; i++)
        {
            scores[i] = 1 - candidates[i].Metrics.KvCacheUsage;
        }
    }
}

internal static class MinMax
{
    /// <remarks>The selector is a static lambda: a cached delegate, no allocation per call.</remarks>
    public static void LowerIsBetter(ReadOnlySpan<EndpointState> candidates, Span<double> scores, Func<EndpointState, int> value)
    {
        var min = int.MaxValue;
        var max = int.MinValue;
        for (var i = 0; i < candidates.Length; i++)
        {
            var v = value(candidates[i]);
            scores[i] = v;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        if (max == min)
        {
            scores.Fill(1.0);
            return;
        }

        double range = (double)max - min;
        for (var i = 0; i < scores.Length; i++)
        {
            scores[i] = (max - scores[i]) / range;
        }
    }
}
