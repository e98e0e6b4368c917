using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Saturation;
using Runtime.Scheduling.Framework;

namespace Runtime.Scheduling.Saturation;

/// <summary>
/// <c>utilization-detector</c>: per endpoint max(waiting / queueDepthThreshold, kv / kvCacheUtilThreshold),
/// averaged over the pool (not capped: 1.6 means 60 % over). An endpoint whose metrics are older than
/// metricsStalenessThreshold (or never scraped) counts 1.0; an empty pool is saturated (fail closed).
/// As a filter it drops endpoints over threshold × (1 + headroom), or stale, unless that would drop all.
/// </summary>
internal sealed class UtilizationDetector : ISaturationDetector, IFilter, IMetricsConsumer
{
    private readonly EndpointStore _store;
    private readonly TimeProvider _time;
    private readonly double _queueThreshold;
    private readonly double _kvThreshold;
    private readonly TimeSpan _staleness;
    private readonly double _headroom;

    public UtilizationDetector(string name, UtilizationDetectorParameters parameters, EndpointStore store, TimeProvider time)
    {
        Name = name;
        _store = store;
        _time = time;
        _queueThreshold = parameters.QueueDepthThreshold ?? UtilizationDetectorParameters.DefaultQueueDepthThreshold;
        _kvThreshold = parameters.KvCacheUtilThreshold ?? UtilizationDetectorParameters.DefaultKvCacheUtilThreshold;
        _staleness = parameters.MetricsStalenessThreshold?.Value ?? UtilizationDetectorParameters.DefaultMetricsStalenessThreshold;
        _headroom = parameters.Headroom ?? 0;
    }

    public string TypeName => BuiltInPlugins.UtilizationDetector;

    public string Name { get; }

    public MetricKinds RequiredMetrics => MetricKinds.WaitingQueue | MetricKinds.KvCacheUsage;

    public double GetSaturation() => Saturation(_store.Current.Endpoints);

    public double Saturation(ReadOnlySpan<EndpointState> endpoints)
    {
        if (endpoints.IsEmpty)
        {
            return 1.0;
        }

        var sum = 0.0;
        foreach (var endpoint in endpoints)
        {
            sum += Utilization(endpoint.Metrics);
        }

        return sum / endpoints.Length;
    }

    public int Filter(SchedulingContext context, SchedulingRequest request, Span<EndpointState> candidates)
    {
        var limit = 1 + _headroom;
        var kept = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            if (Utilization(candidates[i].Metrics) <= limit)
            {
                candidates[kept++] = candidates[i];
            }
        }

        // Fail open at pool level: with every endpoint over its limit, dropping all would only turn load into errors.
        return kept == 0 ? candidates.Length : kept;
    }

    private double Utilization(EndpointMetrics metrics)
    {
        if (metrics.Age(_time) >= _staleness)
        {
            return 1.0;
        }

        var queue = _queueThreshold > 0 ? metrics.WaitingQueueSize / _queueThreshold : (metrics.WaitingQueueSize > 0 ? 1.0 : 0.0);
        var kv = metrics.KvCacheUsage / _kvThreshold;
        return double.IsNaN(kv) ? Math.Max(queue, 1.0) : Math.Max(queue, kv);
    }
}

/// <summary>
/// <c>concurrency-detector</c>: requests (or estimated tokens) this process has in flight per endpoint
/// against maxConcurrency (maxTokenConcurrency), averaged over the pool; an empty pool is saturated. As a
/// filter it drops endpoints at or over limit × (1 + headroom).
/// </summary>
/// <remarks>
/// It sees load only once the request path counts it (<see cref="EndpointState.AddInFlight"/> after the
/// pick), so flow control's burst dispatch can overshoot by the requests between dispatch and pick.
/// </remarks>
internal sealed class ConcurrencyDetector : ISaturationDetector, IFilter
{
    private readonly EndpointStore _store;
    private readonly bool _tokens;
    private readonly double _limit;
    private readonly double _burstLimit;

    public ConcurrencyDetector(string name, ConcurrencyDetectorParameters parameters, EndpointStore store)
    {
        Name = name;
        _store = store;
        _tokens = parameters.ConcurrencyMode == "tokens";
        _limit = _tokens
            ? parameters.MaxTokenConcurrency ?? ConcurrencyDetectorParameters.DefaultMaxTokenConcurrency
            : parameters.MaxConcurrency ?? ConcurrencyDetectorParameters.DefaultMaxConcurrency;
        _burstLimit = _limit * (1 + (parameters.Headroom ?? 0));
    }

    public string TypeName => BuiltInPlugins.ConcurrencyDetector;

    public string Name { get; }

    public double GetSaturation() => Saturation(_store.Current.Endpoints);

    public double Saturation(ReadOnlySpan<EndpointState> endpoints)
    {
        if (endpoints.IsEmpty)
        {
            return 1.0;
        }

        var sum = 0.0;
        foreach (var endpoint in endpoints)
        {
            sum += Load(endpoint);
        }

        return sum / (endpoints.Length * _limit);
    }

    public int Filter(SchedulingContext context, SchedulingRequest request, Span<EndpointState> candidates)
    {
        var kept = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            if (Load(candidates[i]) < _burstLimit)
            {
                candidates[kept++] = candidates[i];
            }
        }

        return kept;
    }

    private double Load(EndpointState endpoint) => _tokens ? endpoint.InFlightTokens : endpoint.InFlightRequests;
}

/// <summary>The shed decision of the legacy (no flow control) path.</summary>
internal static class SaturationDetectorExtensions
{
    /// <summary>At or over capacity: saturation ≥ 1.</summary>
    public static bool IsSaturated(this ISaturationDetector detector) => detector.GetSaturation() >= 1.0;
}
