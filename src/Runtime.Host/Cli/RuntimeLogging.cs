using Microsoft.Extensions.Logging;

namespace Runtime.Host.Cli;

/// <summary>
/// The Go binaries' logging flags: <c>-v</c> (logr V-levels: 2 default, 3 verbose, 4 debug, 5
/// trace), <c>--zap-log-level</c> (wins over <c>-v</c> when given) and <c>--zap-encoder</c>
/// (<c>json</c> or <c>console</c>).
/// </summary>
internal sealed record LoggingOptions
{
    public int Verbosity { get; init; } = 2;

    /// <summary><c>debug</c>, <c>info</c>, <c>error</c>, <c>panic</c> or a positive V-level; null: from <see cref="Verbosity"/>.</summary>
    public string? ZapLogLevel { get; init; }

    public bool Json { get; init; }

    /// <summary>
    /// Go's V(1)–V(3) print as info and V(4) as debug; our Information lines are its default ones,
    /// Debug its verbose/debug ones (per request), Trace its trace ones.
    /// </summary>
    public LogLevel MinimumLevel => ZapLogLevel switch
    {
        "debug" => LogLevel.Debug,
        "info" => LogLevel.Information,
        "error" => LogLevel.Error,
        "panic" => LogLevel.Critical,
        { } level when int.TryParse(level, out var v) => ForVerbosity(v),
        _ => ForVerbosity(Verbosity),
    };

    public static bool IsValidZapLevel(string value) =>
        value is "debug" or "info" or "error" or "panic" || (int.TryParse(value, out var v) && v > 0);

    private static LogLevel ForVerbosity(int verbosity) => verbosity switch
    {
        <= 2 => LogLevel.Information,
        <= 4 => LogLevel.Debug,
        _ => LogLevel.Trace,
    };
}

internal static class RuntimeLogging
{
    public static ILoggerFactory CreateFactory(LoggingOptions options) => LoggerFactory.Create(logging => Configure(logging, options));

    public static void Configure(ILoggingBuilder logging, LoggingOptions options)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(options.MinimumLevel);
        if (options.Json)
        {
            logging.AddJsonConsole(console =>
            {
                console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                console.UseUtcTimestamp = true;
            });
        }
        else
        {
            logging.AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                console.UseUtcTimestamp = true;
            });
        }

        // Kestrel and gRPC log per-connection and per-call noise at Information and below: Warning
        // unless debugging. Hosting's per-request logger stays off unless tracing: while it is
        // enabled at any level, every request gets an Activity and a log scope.
        if (options.MinimumLevel > LogLevel.Debug)
        {
            logging.AddFilter("Microsoft", LogLevel.Warning);
            logging.AddFilter("Grpc", LogLevel.Warning);
        }

        // A listener that cannot bind is reported once, in one line, by ServerStartup.
        Serve.ServerStartup.AddLogFilters(logging, options.MinimumLevel > LogLevel.Debug ? LogLevel.Warning : options.MinimumLevel);

        if (options.MinimumLevel > LogLevel.Trace)
        {
            logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        }
    }
}
