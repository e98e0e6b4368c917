using Microsoft.Extensions.Logging;
using Runtime.Endpoints;

namespace Runtime.ModelMetrics.Scraping;

/// <summary>Scraper log events (ids 4100–4199). Per-scrape events are Debug; only state changes log higher.</summary>
internal static partial class ScrapeLog
{
    [LoggerMessage(4100, LogLevel.Debug, "Scraping metrics of {Endpoint} from {Uri} as engine {Engine}")]
    public static partial void EndpointAdded(ILogger logger, Endpoint endpoint, Uri uri, string engine);

    [LoggerMessage(4101, LogLevel.Debug, "Stopped scraping metrics of {Endpoint}")]
    public static partial void EndpointRemoved(ILogger logger, Endpoint endpoint);

    [LoggerMessage(4102, LogLevel.Warning, "Metrics scrape of {Endpoint} failed ({Reason}): {Detail}; keeping its previous metrics until they go stale")]
    public static partial void FailingStarted(ILogger logger, Endpoint endpoint, ScrapeFailure reason, string detail);

    [LoggerMessage(4103, LogLevel.Debug, "Metrics scrape of {Endpoint} failed again ({Reason}): {Detail}")]
    public static partial void FailedAgain(ILogger logger, Endpoint endpoint, ScrapeFailure reason, string detail);

    [LoggerMessage(4104, LogLevel.Information, "Metrics scrapes of {Endpoint} succeed again after {Failures} failures")]
    public static partial void Recovered(ILogger logger, Endpoint endpoint, int failures);

    [LoggerMessage(4105, LogLevel.Debug, "Metrics page of {Endpoint} had {Count} malformed lines")]
    public static partial void MalformedLines(ILogger logger, Endpoint endpoint, int count);
}
