using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;

namespace Runtime.Scheduling.Filters;

/// <summary>
/// <c>utilization-filter</c> (llm-d v0.10, Alpha): keeps the endpoints whose every condition's metric
/// is at most its <c>maxValue</c>. <c>active-requests</c> is what this picker has in flight to the
/// endpoint (picked, response not ended); the others are the model server's scraped running
/// requests, waiting queue and KV-cache utilisation; an endpoint never scraped counts 0, as in llm-d.
/// With <c>fallbackOnEmpty</c>, dropping every candidate keeps them all instead.
/// </summary>
internal sealed class UtilizationFilter : IFilter, IMetricsConsumer
{
    private readonly (string Metric, double Max)[] _conditions;
    private readonly bool _fallbackOnEmpty;

    public UtilizationFilter(string name, UtilizationFilterParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Name = name;
        _conditions = [.. (parameters.Conditions ?? []).Select(c => (c.Metric!, c.MaxValue!.Value))];
        _fallbackOnEmpty = parameters.FallbackOnEmpty;
        foreach (var (metric, _) in _conditions)
        {
            RequiredMetrics |= metric switch
            {
                UtilizationFilterParameters.RunningRequests => MetricKinds.RunningRequests,
                UtilizationFilterParameters.WaitingQueue => MetricKinds.WaitingQueue,
                UtilizationFilterParameters.KvCacheUtilization => MetricKinds.KvCacheUsage,
                _ => MetricKinds.None,
            };
        }
    }

    public string TypeName => BuiltInPlugins.UtilizationFilter;

    public string Name { get; }

    public MetricKinds RequiredMetrics { get; }

    public int Filter(SchedulingContext context, SchedulingRequest request, Span<EndpointState> candidates)
    {
        var kept = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            if (WithinAll(candidates[i]))
            {
                candidates[kept++] = candidates[i];
            }
        }

        return kept == 0 && _fallbackOnEmpty ? candidates.Length : kept;
    }

    private bool WithinAll(EndpointState endpoint)
    {
        foreach (var (metric, max) in _conditions)
        {
            if (Value(endpoint, metric) > max)
            {
                return false;
            }
        }

        return true;
    }

    private static double Value(EndpointState endpoint, string metric) => metric switch
    {
        UtilizationFilterParameters.ActiveRequests => endpoint.InFlightRequests,
        UtilizationFilterParameters.RunningRequests => endpoint.Metrics.RunningRequests,
        UtilizationFilterParameters.WaitingQueue => endpoint.Metrics.WaitingQueueSize,
        UtilizationFilterParameters.KvCacheUtilization => endpoint.Metrics.KvCacheUsage,
        _ => 0,
    };
}
