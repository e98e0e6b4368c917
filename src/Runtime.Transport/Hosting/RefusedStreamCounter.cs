using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Runtime.Primitives.Diagnostics;

namespace Runtime.Transport.Hosting;

/// <summary>
/// Counts the HTTP/2 streams Kestrel refuses (RST_STREAM REFUSED_STREAM) because a connection
/// already has <c>--grpc-max-concurrent-streams</c> open, in <c>runtime_http2_streams_refused_total</c>.
/// Kestrel has no metric for it; it reports each refusal only as a Debug log event
/// (<c>Http2StreamError</c> with its "stream limit" error), so this provider listens to that one
/// category at Debug whatever the configured log level, and nothing else. Refusals are rare (a client
/// ignoring the SETTINGS limit, or opening streams before it arrived), so the cost is nil otherwise.
/// </summary>
internal sealed class RefusedStreamCounter : ILoggerProvider, ILogger
{
    public const string CounterName = "runtime_http2_streams_refused_total";

    /// <summary>Kestrel's logger category for HTTP/2 connection events.</summary>
    public const string KestrelHttp2Category = "Microsoft.AspNetCore.Server.Kestrel.Http2";

    private static readonly Counter<long> s_refused = RuntimeMeter.Instance.CreateCounter<long>(
        CounterName,
        description: "HTTP/2 streams refused (RST_STREAM REFUSED_STREAM) because their connection was at its concurrent stream limit; the client may retry them.");

    /// <summary>Adds the counter to a logging pipeline, Debug for Kestrel's HTTP/2 category only.</summary>
    public static void AddTo(ILoggingBuilder logging)
    {
        ArgumentNullException.ThrowIfNull(logging);
        s_refused.Add(0); // the family reads 0 from start-up, not absent until the first refusal
        logging.AddProvider(new RefusedStreamCounter());
        logging.AddFilter<RefusedStreamCounter>(null, LogLevel.None);
        logging.AddFilter<RefusedStreamCounter>(KestrelHttp2Category, LogLevel.Debug);
    }

    /// <summary>Whether a Kestrel log event is a stream refused at the concurrent stream limit.</summary>
    internal static bool IsRefusal(EventId eventId, Exception? exception) =>
        eventId.Name == "Http2StreamError"
        && exception?.Message.Contains("stream limit", StringComparison.OrdinalIgnoreCase) == true;

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel == LogLevel.Debug;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsRefusal(eventId, exception))
        {
            s_refused.Add(1);
        }
    }

    public void Dispose()
    {
    }
}
