namespace Runtime.Endpoints;

/// <summary>The model-server metrics the scraper can extract; it reads only those some plugin needs.</summary>
[Flags]
public enum MetricKinds
{
    None = 0,
    WaitingQueue = 1,
    RunningRequests = 2,
    KvCacheUsage = 4,
    LoraAdapters = 8,
    CacheInfo = 16,
    All = WaitingQueue | RunningRequests | KvCacheUsage | LoraAdapters | CacheInfo,
}

/// <summary>Implemented by plugins that read <see cref="EndpointState.Metrics"/>, so the host scrapes only what is used.</summary>
public interface IMetricsConsumer
{
    MetricKinds RequiredMetrics { get; }
}
