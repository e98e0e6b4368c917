using System.Diagnostics.Metrics;

namespace Runtime.ModelMetrics.Scraping;

/// <summary>Why a scrape failed (the <c>reason</c> tag of the failure counter).</summary>
internal enum ScrapeFailure
{
    /// <summary>The server answered with a non-2xx status.</summary>
    HttpStatus,

    /// <summary>No complete answer within the scrape timeout.</summary>
    Timeout,

    /// <summary>The page was larger than the configured maximum.</summary>
    PageTooLarge,

    /// <summary>Connection refused or reset, TLS failure, or another transport error.</summary>
    Transport,

    /// <summary>
    /// The page carried none of the metrics scraped (garbage, or not a model server's page): the
    /// endpoint keeps its previous metrics and goes stale, as if it had not answered.
    /// </summary>
    NoMetrics,
}

/// <summary>
/// Scrape counters. GIE has no scrape-level metrics, so these take the
/// <c>inference_extension_metrics_scrape_*</c> names. Counting is an interlocked add; the instruments
/// are observable, so nothing is recorded per scrape unless a listener reads them.
/// </summary>
internal sealed class MetricsScrapeMetrics : IDisposable
{
    public const string MeterName = "Runtime.ModelMetrics";

    private readonly Meter _meter = new(MeterName);
    private readonly long[] _failures = new long[(int)ScrapeFailure.NoMetrics + 1];
    private long _scrapes;
    private long _malformedLines;

    public MetricsScrapeMetrics()
    {
        _meter.CreateObservableCounter("inference_extension_metrics_scrape_total", () => Scrapes, description: "Metrics scrapes of model-server endpoints, successful or not.");
        _meter.CreateObservableCounter("inference_extension_metrics_scrape_failures_total", ObserveFailures, description: "Metrics scrapes that failed, by reason; the endpoint keeps its previous metrics.");
        _meter.CreateObservableCounter("inference_extension_metrics_scrape_parse_errors_total", () => MalformedLines, description: "Malformed lines skipped in model-server metrics pages.");

        // llm-d v0.10's data-layer family: a failed poll of the metrics data source, whatever the reason.
        _meter.CreateObservableCounter(
            "llm_d_epp_datalayer_poll_errors_total",
            () => new Measurement<long>(Failures, new KeyValuePair<string, object?>("source_type", Runtime.Plugins.BuiltIn.BuiltInPlugins.MetricsDataSource)),
            description: "[ALPHA] Data-source poll errors per source type.");
    }

    public long Scrapes => Volatile.Read(ref _scrapes);

    public long Failures
    {
        get
        {
            long total = 0;
            for (var i = 0; i < _failures.Length; i++)
            {
                total += Volatile.Read(ref _failures[i]);
            }

            return total;
        }
    }

    public long MalformedLines => Volatile.Read(ref _malformedLines);

    public long FailuresOf(ScrapeFailure reason) => Volatile.Read(ref _failures[(int)reason]);

    public void Dispose() => _meter.Dispose();

    internal void RecordScrape() => Interlocked.Increment(ref _scrapes);

    internal void RecordFailure(ScrapeFailure reason) => Interlocked.Increment(ref _failures[(int)reason]);

    internal void RecordMalformedLines(int count)
    {
        if (count > 0)
        {
            Interlocked.Add(ref _malformedLines, count);
        }
    }

    private IEnumerable<Measurement<long>> ObserveFailures()
    {
        yield return new(FailuresOf(ScrapeFailure.HttpStatus), new KeyValuePair<string, object?>("reason", "http_status"));
        yield return new(FailuresOf(ScrapeFailure.Timeout), new KeyValuePair<string, object?>("reason", "timeout"));
        yield return new(FailuresOf(ScrapeFailure.PageTooLarge), new KeyValuePair<string, object?>("reason", "page_too_large"));
        yield return new(FailuresOf(ScrapeFailure.Transport), new KeyValuePair<string, object?>("reason", "transport"));
        yield return new(FailuresOf(ScrapeFailure.NoMetrics), new KeyValuePair<string, object?>("reason", "no_metrics"));
    }
}
