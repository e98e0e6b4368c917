using Runtime.Endpoints;
using Runtime.ModelMetrics.Prometheus;
using Runtime.Plugins.BuiltIn.Parameters;

namespace Runtime.ModelMetrics.Scraping;

/// <summary>How <see cref="EndpointMetricsScraper"/> scrapes: where, how often, and what to read.</summary>
internal sealed record MetricsScraperOptions
{
    /// <summary>GIE's <c>--refresh-metrics-interval</c> default.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Per-scrape timeout. A healthy server answers a metrics page in a few milliseconds; one second
    /// rides out a slow page or a GC pause on a loaded server, and a hung server costs no more than
    /// its own slot: its metrics age past the 200 ms staleness limit long before the timeout, so
    /// consumers stop trusting them whatever the timeout is. While a scrape is outstanding the
    /// endpoint is not scraped again, so a longer timeout never piles up requests.
    /// </summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(1);

    public const int DefaultMaxConcurrentScrapes = 256;

    public TimeSpan Interval { get; init; } = DefaultInterval;

    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary><c>http</c> or <c>https</c> (<c>metrics-data-source</c> <c>scheme</c>).</summary>
    public string Scheme { get; init; } = "http";

    /// <summary>The metrics path (<c>metrics-data-source</c> <c>path</c>; <c>/prometheus/metrics</c> for trtllm-serve).</summary>
    public string Path { get; init; } = "/metrics";

    /// <summary>Accept any server certificate over https (model servers use self-signed ones).</summary>
    public bool InsecureSkipVerify { get; init; } = true;

    /// <summary>Scrape this port instead of each endpoint's own (the deprecated <c>--model-server-metrics-port</c>); 0 keeps the endpoint's.</summary>
    public int Port { get; init; }

    /// <summary>A larger page is an error, not a buffer that grows without bound.</summary>
    public int MaxPageBytes { get; init; } = MetricsPageBuffer.DefaultMaxBytes;

    /// <summary>Scrapes in flight at once across all endpoints; idle endpoints beyond it wait for the next tick.</summary>
    public int MaxConcurrentScrapes { get; init; } = DefaultMaxConcurrentScrapes;

    /// <summary>What to extract: the union of what the configured plugins read (<see cref="IMetricsConsumer"/>).</summary>
    public MetricKinds Kinds { get; init; } = MetricKinds.All;

    /// <summary>Options from the <c>metrics-data-source</c> parameters (null: its defaults) and the host's flags.</summary>
    public static MetricsScraperOptions From(MetricsDataSourceParameters? source, TimeSpan? interval = null, MetricKinds kinds = MetricKinds.All)
    {
        source ??= new MetricsDataSourceParameters();
        return new MetricsScraperOptions
        {
            Scheme = source.Scheme,
            Path = source.Path,
            InsecureSkipVerify = source.InsecureSkipVerify,
            Interval = interval ?? DefaultInterval,
            Kinds = kinds,
        };
    }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Interval, TimeSpan.Zero, nameof(Interval));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Timeout, TimeSpan.Zero, nameof(Timeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPageBytes, 1, nameof(MaxPageBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentScrapes, 1, nameof(MaxConcurrentScrapes));
        if (Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"scheme must be http or https, got \"{Scheme}\"", nameof(Scheme));
        }

        if (!Path.StartsWith('/'))
        {
            throw new ArgumentException($"path must start with \"/\", got \"{Path}\"", nameof(Path));
        }
    }
}
