using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;

namespace Runtime.Scheduling.LlmD;

/// <summary>
/// <c>active-request-scorer</c> (llm-d v0.10): requests this picker has in flight per endpoint (picked,
/// response not ended). With max the largest count over the candidates, an endpoint with at most
/// <c>idleThreshold</c> in flight scores 1, any other (max − n) / max × <c>maxBusyScore</c>.
/// </summary>
internal sealed class ActiveRequestScorer(string name, ActiveRequestScorerParameters parameters) : IScorer
{
    private readonly long _idleThreshold = Math.Max(0, parameters.IdleThreshold);
    private readonly double _maxBusyScore = parameters.EffectiveMaxBusyScore;

    public string TypeName => BuiltInPlugins.ActiveRequestScorer;

    public string Name { get; } = name;

    public void Score(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, Span<double> scores)
    {
        long max = 0;
        foreach (var endpoint in candidates)
        {
            max = Math.Max(max, endpoint.InFlightRequests);
        }

        for (var i = 0; i < candidates.Length; i++)
        {
            // Read once: the count moves under us as other requests start and end.
            var count = Math.Min(Math.Max(0, candidates[i].InFlightRequests), max);
            scores[i] = count <= _idleThreshold ? 1.0 : (double)(max - count) / max * _maxBusyScore;
        }
    }
}

/// <summary>
/// <c>load-aware-scorer</c> (llm-d v0.10): the scraped waiting queue against <c>threshold</c> (default
/// 128). An empty queue scores 0.5, a queue of q scores 0.5 × (1 − min(q, threshold) / threshold), so
/// a loaded endpoint never outranks an idle one.
/// </summary>
internal sealed class LoadAwareScorer(string name, int threshold) : IScorer, IMetricsConsumer
{
    private readonly double _threshold = threshold > 0 ? threshold : LoadAwareScorerParameters.DefaultThreshold;

    public string TypeName => BuiltInPlugins.LoadAwareScorer;

    public string Name { get; } = name;

    public MetricKinds RequiredMetrics => MetricKinds.WaitingQueue;

    public void Score(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, Span<double> scores)
    {
        for (var i = 0; i < candidates.Length; i++)
        {
            double waiting = candidates[i].Metrics.WaitingQueueSize;
            scores[i] = waiting <= 0 ? 0.5 : 0.5 * (1.0 - (Math.Min(waiting, _threshold) / _threshold));
        }
    }
}
