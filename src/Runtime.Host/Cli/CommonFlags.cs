namespace Runtime.Host.Cli;

/// <summary>
/// Flags both Go binaries (the endpoint picker and the body-based router) define, written once and
/// composed by <c>serve</c> and <c>bbr</c>; help texts are the Go ones.
/// </summary>
internal static class CommonFlags
{
    /// <summary><c>-v</c> and the controller-runtime <c>--zap-*</c> flags.</summary>
    public static void Logging(FlagSet flags, Func<LoggingOptions> get, Action<LoggingOptions> set)
    {
        flags.Int("v", get().Verbosity, "Number for the log level verbosity.", v => set(get() with { Verbosity = v < 0 ? 2 : v }));
        flags.String("zap-log-level", string.Empty, "Zap Level to configure the verbosity of logging. Can be one of 'debug', 'info', 'error', 'panic' or any integer value > 0 which corresponds to custom debug levels of increasing verbosity.", v =>
        {
            if (!LoggingOptions.IsValidZapLevel(v))
            {
                throw new FormatException($"invalid log level \"{v}\"");
            }

            set(get() with { ZapLogLevel = v });
        });
        flags.String("zap-encoder", string.Empty, "Zap log encoding (one of 'json' or 'console')", v => set(get() with
        {
            Json = v.ToLowerInvariant() switch
            {
                "json" => true,
                "console" => false,
                _ => throw new FormatException("must be 'json' or 'console'"),
            },
        }));
        flags.Bool("zap-devel", true, "Development Mode defaults(encoder=consoleEncoder,logLevel=Debug,stackTraceLevel=Warn). Production Mode defaults(encoder=jsonEncoder,logLevel=Info,stackTraceLevel=Error)", _ => { });
        flags.String("zap-stacktrace-level", string.Empty, "Zap Level at and above which stacktraces are captured (one of 'info', 'error', 'panic').", _ => { });
        flags.String("zap-time-encoding", string.Empty, "Zap time encoding (one of 'epoch', 'millis', 'nano', 'iso8601', 'rfc3339' or 'rfc3339nano'). Defaults to 'epoch'.", _ => { });
        flags.Note("zap-devel", "no effect (as in the Go binaries, whose logger ignores it)")
            .Note("zap-stacktrace-level", "no effect: .NET log lines carry the exception's stack trace whenever there is one")
            .Note("zap-time-encoding", "no effect: timestamps are ISO 8601 UTC");
    }

    /// <summary>
    /// <c>--tracing</c> (OpenTelemetry spans, configured by <c>OTEL_*</c>), <c>--enable-pprof</c>:
    /// defined by both Go binaries; what the last does here is in its note.
    /// </summary>
    public static void Observability(FlagSet flags, Action<bool> tracing)
    {
        flags.Bool("tracing", true, "Enables emitting traces.", tracing);
        flags.Bool("enable-pprof", true, "Enables pprof handlers. Defaults to true. Set to false to disable pprof handlers.", _ => { });
        flags.Note("enable-pprof", "no effect: pprof is Go's profiler; use dotnet-counters/dotnet-trace-compatible tooling or perf on the AOT binary");
    }

    /// <summary>
    /// <c>--metrics-endpoint-auth</c> (both Go binaries): bearer tokens on the metrics endpoint
    /// checked with the API server's TokenReview and SubjectAccessReview. Go always has an API
    /// server; here <paramref name="withoutApiServer"/> says when there is none, which turns the
    /// default off (see <see cref="Runtime.Host.Serve.MetricsListener.ResolveAuth"/>).
    /// </summary>
    public static void MetricsEndpointAuth(FlagSet flags, string withoutApiServer, Action<bool> set) =>
        flags.Bool("metrics-endpoint-auth", true, $"Enables authentication and authorization of the metrics endpoint. Here: without an API server ({withoutApiServer}) the default is false and true is an error.", set);

    /// <summary>
    /// Ours, on both commands: how much memory request bodies may hold (<c>--max-buffered-body-bytes</c>,
    /// past which requests get 429) and how much the buffer pool keeps between bursts.
    /// </summary>
    public static void BodyMemory(FlagSet flags, Action<long> maxBufferedBodyBytes, Action<long> poolRetainBytes)
    {
        flags.String("max-buffered-body-bytes", "auto", "Ceiling on body bytes held by all streams together (e.g. 512Mi); a request whose body would pass it gets 429 ResourceExhausted. auto: a quarter of the memory available to the process (the container limit when set), at least 64Mi", v =>
        {
            var bytes = v == "auto" ? 0 : ByteSize.ParseLong(v);
            maxBufferedBodyBytes(v == "auto" ? 0 : bytes > 0 ? bytes : throw new FormatException("must be positive, or auto"));
        });
        flags.String("buffer-pool-retain-bytes", "64Mi", "Most idle buffer memory each pool (messages and bodies; socket blocks) keeps for reuse between bursts; released when traffic no longer needs it", v => poolRetainBytes(ByteSize.ParseLong(v)));
    }

    /// <summary>Ours, on both commands: <c>--thread-scheduling</c> (see <see cref="Runtime.Host.Serve.ThreadSchedulingPolicy"/>).</summary>
    public static void ThreadScheduling(FlagSet flags, Action<Runtime.Host.Serve.ThreadSchedulingPolicy> set) =>
        flags.String("thread-scheduling", "normal", "Linux scheduling policy of the process's threads. normal: left as the process started (the kernel's default). batch: SCHED_BATCH, a woken thread waits for the running one instead of preempting it; on a core of its own that takes 10-20% off the CPU per exchange at 220 KB, but on a core shared with other busy processes a woken thread may wait a scheduler tick (~4 ms): for dedicated cores", v => set(Runtime.Host.Serve.ThreadScheduling.Parse(v)));
}
