using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Runtime.ExtProc.Buffers;
using Runtime.ExtProc.Codec;
using Runtime.ExtProc.Stream;
using Runtime.Primitives.Buffers;
using Runtime.Telemetry.Hosting;
using Runtime.Telemetry.Prometheus;
using Runtime.Transport.Grpc;
using Runtime.Transport.Health;
using Runtime.Transport.Hosting;

namespace Runtime.Host.Serve;

/// <summary>
/// Composes the data plane: the ext_proc listener, the gRPC health listener, Kestrel tuning
/// and graceful shutdown. Used by <c>runtime serve</c> and <c>runtime bbr</c>.
/// </summary>
internal sealed partial class RuntimeServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ServerCertificateProvider? _certificate;
    private readonly MetricsListener? _metrics;
    private readonly List<ExtProcService> _extProcServices;
    private readonly IDisposable? _processMetrics;

    private RuntimeServer(WebApplication app, ServerCertificateProvider? certificate, MetricsListener? metrics, List<ExtProcService> extProcServices, IDisposable? processMetrics)
    {
        _app = app;
        _certificate = certificate;
        _metrics = metrics;
        _extProcServices = extProcServices;
        _processMetrics = processMetrics;
    }

    /// <summary>Cancelled when shutdown begins (SIGTERM/SIGINT), before streams drain.</summary>
    public CancellationToken Stopping => _app.Lifetime.ApplicationStopping;

    /// <summary>The process's loggers: single-line console with UTC timestamps, at the level <c>-v</c> asks for.</summary>
    /// <summary>One listener serving one processor: <c>ext_proc</c> on <paramref name="Listener"/>, its health on <paramref name="HealthPort"/>.</summary>
    public sealed record ExtProcListener(IExtProcProcessor Processor, int Listener, int HealthPort, BodySendMode RequestBodyMode, BodySendMode ResponseBodyMode)
    {
        /// <summary>When set, the pool counts as synced only while it is ready (the picker waits for its pool); otherwise synced once started.</summary>
        public ReadinessGate? Readiness { get; init; }

        /// <summary>With <c>--ha-enable-leader-election</c>: set while this replica leads; readiness waits for it (liveness does not).</summary>
        public ReadinessGate? Leadership { get; init; }

        /// <summary>Whose health semantics the health port follows: the endpoint picker's (default) or the body-based router's.</summary>
        public HealthRules Health { get; init; } = HealthRules.EndpointPicker;

        /// <summary><c>--tracing</c>: the span each request gets; null: none.</summary>
        public ExtProcTracing? Tracing { get; init; }

        /// <summary><c>--enable-grpc-stream-metrics</c>: recorded around each stream; null: not recorded.</summary>
        public ExtProcStreamMetrics? StreamMetrics { get; init; }
    }

    /// <summary>Serves the body-based router (<c>runtime bbr</c>) on the options' ports.</summary>
    public static RuntimeServer Create(ServeOptions options, IExtProcProcessor processor, ILoggerFactory loggers, PrometheusExporter? metrics = null, ExtProcTracing? tracing = null) =>
        Create(options, [new ExtProcListener(processor, options.GrpcPort, options.GrpcHealthPort, options.DefaultRequestBodyMode, options.DefaultResponseBodyMode) { Health = HealthRules.BodyRouter, Tracing = tracing }], loggers, metrics: metrics);

    /// <summary>
    /// Serves the listeners, each with its own health service; with <paramref name="metrics"/> and a
    /// non-zero metrics port, <c>GET /metrics</c> on that port. <paramref name="loggers"/> (the
    /// command's, alive as long as the server) serves what runs outside the app, e.g. certificate reloads.
    /// </summary>
    public static RuntimeServer Create(ServeOptions options, IReadOnlyList<ExtProcListener> services, ILoggerFactory loggers, PrometheusExporter? metrics = null)
    {
        // Before the host starts its threads, so they inherit the policy; again once started, for any
        // thread started while the first pass listed them.
        ThreadScheduling.Apply(options.ThreadScheduling);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        Cli.RuntimeLogging.Configure(builder.Logging, options.Logging);
        RefusedStreamCounter.AddTo(builder.Logging);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.Grpc.ShutdownGracePeriod);
        builder.Services.AddRuntimeGrpc(options.Grpc);
        builder.Services.AddSingleton<ExternalProcessorService>();
        builder.Services.AddSingleton<HealthService>();

        ServerCertificateProvider? certificate = null;
        if (options.SecureServing)
        {
            certificate = options.CertPath is { Length: > 0 } path
                ? ServerCertificateProvider.FromDirectory(path, options.EnableCertReload ? TimeSpan.FromSeconds(5) : Timeout.InfiniteTimeSpan, loggers.CreateLogger<ServerCertificateProvider>())
                : ServerCertificateProvider.SelfSigned();
        }

        var address = options.BindAddress ?? (System.Net.Sockets.Socket.OSSupportsIPv6 ? System.Net.IPAddress.IPv6Any : System.Net.IPAddress.Any);
        var listeners = new List<GrpcListener>();
        var healths = new List<(HealthState Health, ReadinessGate? Readiness)>();
        var extProcs = new List<ExtProcService>();
        var bodyBudget = new BodyBufferBudget(options.MaxBufferedBodyBytes > 0 ? options.MaxBufferedBodyBytes : BodyBufferBudget.DefaultLimit());
        PooledBuffers.SetRetainCeiling(options.BufferPoolRetainBytes);
        foreach (var service in services)
        {
            var health = new HealthState(service.Health, options.LeaderElection);
            healths.Add((health, service.Readiness));
            if (service.Leadership is { } leadership)
            {
                // A standby is live but not ready until it holds the Lease.
                leadership.Changed += () => health.SetLeader(leadership.IsReady);
                health.SetLeader(leadership.IsReady);
            }

            var extProc = new ExtProcService(service.Processor, new ExtProcOptions
            {
                DefaultRequestBodyMode = service.RequestBodyMode,
                DefaultResponseBodyMode = service.ResponseBodyMode,
                Tracing = service.Tracing,
                StreamMetrics = service.StreamMetrics,
                BodyBudget = bodyBudget,
            });
            extProcs.Add(extProc);

            // --health-checking: grpc-go's standard health server on the ext_proc port as well.
            ListenerServices extProcServices;
            if (options.HealthCheckingOnExtProcPort)
            {
                var extProcHealth = new HealthState(HealthRules.ExtProcPort);
                healths.Add((extProcHealth, null));
                extProcServices = new(extProc, extProcHealth);
            }
            else
            {
                extProcServices = new(extProc);
            }

            listeners.Add(new(address, service.Listener, extProcServices, certificate, options.TlsPolicy));
            listeners.Add(new(address, service.HealthPort, new ListenerServices(health)));
        }

        MetricsListener? metricsEndpoint;
        try
        {
            metricsEndpoint = metrics is not null && options.MetricsPort > 0
                ? MetricsListener.Create(options, metrics, loggers.CreateLogger<MetricsListener>())
                : null;
        }
        catch
        {
            certificate?.Dispose();
            throw;
        }

        // Receive straight into a buffer: by default each read is a zero-byte wait, then the read, two
        // syscalls per 4 KB block; a 220 KB prompt then cost 110 of them. Envoy keeps few connections
        // open, so a block held per idle connection is cheap (+18% exchanges/s at 220 KB, perf/README).
        builder.WebHost.UseSockets(sockets => sockets.WaitForDataBeforeAllocatingBuffer = false);

        // Socket reads and writes in 64 KB blocks instead of Kestrel's 4 KB: a 220 KB prompt takes 4
        // receive calls instead of 55 (2.2x the exchanges/s at 220 KB, perf/README).
        var transportMemory = new SocketBlockPoolFactory(options.BufferPoolRetainBytes);
        builder.Services.AddSingleton<IMemoryPoolFactory<byte>>(transportMemory);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            KestrelGrpcSetup.Configure(kestrel, options.Grpc, listeners);
            metricsEndpoint?.Listen(kestrel, address, options.MetricsPort);
        });

        var app = builder.Build();
        if (metricsEndpoint is not null)
        {
            metricsEndpoint.Start(app.Services.GetRequiredService<ILoggerFactory>());
            app.Use(next => context => PrometheusEndpoint.IsMetricsRequest(context) ? metricsEndpoint.HandleAsync(context) : next(context));
        }

        app.RunGrpcServices(grpc =>
        {
            grpc.MapGrpcService<ExternalProcessorService>();
            grpc.MapGrpcService<HealthService>();
        });

        var logger = app.Services.GetRequiredService<ILogger<RuntimeServer>>();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            foreach (var (health, readiness) in healths)
            {
                ReportHealth(health, readiness);
            }

            var startup = DateTime.Now - Process.GetCurrentProcess().StartTime;
            foreach (var service in services)
            {
                Log.Listening(logger, service.Listener, service.HealthPort, options.SecureServing ? "TLS" : "h2c", service.Processor.Name);
            }

            if (metricsEndpoint is not null)
            {
                Log.ServingMetrics(logger, options.MetricsPort, metricsEndpoint.Description);
            }

            Log.Started(logger, (long)startup.TotalMilliseconds);
            if (ThreadScheduling.Apply(options.ThreadScheduling) is > 0 and var threads)
            {
                Log.BatchScheduling(logger, threads);
            }
        });
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            // Tell health checkers first, so load balancers stop sending while streams drain.
            foreach (var (health, _) in healths)
            {
                health.ShutDown();
            }

            Log.Draining(logger, options.Grpc.ShutdownGracePeriod.TotalSeconds);
        });

        foreach (var note in options.FlagNotes)
        {
            Log.FlagNote(logger, note);
        }

        // Registered here, not where buffers are rented, so the gauge is on the page from the first scrape.
        var processMetrics = metrics is null ? null : RegisterMemoryMetrics(metrics, bodyBudget, transportMemory);
        return new RuntimeServer(app, certificate, metricsEndpoint, extProcs, processMetrics);
    }

    private static ServedMetrics.Registrations RegisterMemoryMetrics(PrometheusExporter metrics, BodyBufferBudget budget, SocketBlockPoolFactory transportMemory) => new ServedMetrics.Registrations(
    [
        metrics.AddCollector(SocketBlockPoolFactory.HeldGaugeName, SocketBlockPoolFactory.HeldGaugeHelp, PrometheusMetricType.Gauge, w =>
        {
            w.Add("state", "in_use", transportMemory.InUseBytes);
            w.Add("state", "idle", transportMemory.IdleBytes);
        }),
        metrics.AddCollector(PooledBuffers.OutstandingGaugeName, PooledBuffers.OutstandingGaugeHelp, PrometheusMetricType.Gauge, static w => w.Add(PooledBuffers.Outstanding)),
        metrics.AddCollector(PooledBuffers.RetainedGaugeName, PooledBuffers.RetainedGaugeHelp, PrometheusMetricType.Gauge, static w => w.Add(PooledBuffers.RetainedBytes)),
        metrics.AddCollector(BodyBufferBudget.HeldGaugeName, BodyBufferBudget.HeldGaugeHelp, PrometheusMetricType.Gauge, w => w.Add(budget.Held)),
        metrics.AddCollector(BodyBufferBudget.LimitGaugeName, BodyBufferBudget.LimitGaugeHelp, PrometheusMetricType.Gauge, w => w.Add(budget.Limit)),
        metrics.AddCollector(BodyBufferBudget.RejectedCounterName, BodyBufferBudget.RejectedCounterHelp, PrometheusMetricType.Counter, w => w.Add(budget.Rejected)),
    ]);

    /// <summary>Runs until SIGTERM/SIGINT, then drains open streams for the grace period.</summary>
    public Task RunAsync() => _app.RunAsync();

    /// <summary>Opens the listeners (throws IOException when one cannot bind); see <see cref="ServerStartup"/>.</summary>
    public Task StartAsync() => _app.StartAsync();

    /// <summary>After <see cref="StartAsync"/>: runs until SIGTERM/SIGINT, then drains as <see cref="RunAsync"/> does.</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync().ConfigureAwait(false);
        _processMetrics?.Dispose();
        foreach (var service in _extProcServices)
        {
            service.Dispose();
        }

        _certificate?.Dispose();
        _metrics?.Dispose();
    }

    /// <summary>Synced once started, or, with a readiness gate, while the gate says the pool is ready.</summary>
    private static void ReportHealth(HealthState health, ReadinessGate? readiness)
    {
        if (readiness is null)
        {
            health.SetSynced(true);
            return;
        }

        readiness.Changed += () => health.SetSynced(readiness.IsReady);
        health.SetSynced(readiness.IsReady);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Serving ext_proc on :{GrpcPort} and gRPC health on :{HealthPort} ({Security}, processor {Processor})")]
        public static partial void Listening(ILogger logger, int grpcPort, int healthPort, string security, string processor);

        [LoggerMessage(4, LogLevel.Information, "Started in {StartupMs} ms")]
        public static partial void Started(ILogger logger, long startupMs);

        [LoggerMessage(2, LogLevel.Information, "Shutting down: health set to NOT_SERVING, draining open streams for up to {GraceSeconds} s")]
        public static partial void Draining(ILogger logger, double graceSeconds);

        [LoggerMessage(5, LogLevel.Information, "Serving Prometheus metrics on :{MetricsPort}/metrics ({Security})")]
        public static partial void ServingMetrics(ILogger logger, int metricsPort, string security);

        [LoggerMessage(6, LogLevel.Information, "Threads run under SCHED_BATCH (--thread-scheduling=batch): {Threads} now, and every thread they start")]
        public static partial void BatchScheduling(ILogger logger, int threads);

        [LoggerMessage(3, LogLevel.Warning, "{Note}")]
        public static partial void FlagNote(ILogger logger, string note);
    }
}
