using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Runtime.ExtProc.Stream;
using Runtime.Plugins.Validation;
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

    private RuntimeServer(WebApplication app, ServerCertificateProvider? certificate, IReadOnlyList<ValidationError> pluginFailures)
    {
        _app = app;
        _certificate = certificate;
        PluginFailures = pluginFailures;
    }

    /// <summary>Plugins of the configuration whose factory failed; the host does not start when there are any.</summary>
    public IReadOnlyList<ValidationError> PluginFailures { get; }

    public static RuntimeServer Create(ServeOptions options, IExtProcProcessor processor, Action<ILoggingBuilder>? configureLogging = null, ServedConfiguration? configuration = null)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.Logging.SetMinimumLevel(LogLevelFor(options.Verbosity));
        if (configureLogging is null)
        {
            builder.Logging.AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                console.UseUtcTimestamp = true;
            });
        }
        else
        {
            configureLogging(builder.Logging);
        }

        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.Grpc.ShutdownGracePeriod);

        // Kestrel logs per-connection noise at Information; keep it at Warning unless -v is high.
        if (options.Verbosity < 4)
        {
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        }

        var health = HealthStatusRegistry.ForEndpointPicker();
        var extProc = new ExtProcService(processor, new ExtProcOptions
        {
            DefaultRequestBodyMode = options.DefaultRequestBodyMode,
            DefaultResponseBodyMode = options.DefaultResponseBodyMode,
        });

        using var bootstrapLoggers = LoggerFactory.Create(logging => logging.AddSimpleConsole());
        ServerCertificateProvider? certificate = null;
        if (options.SecureServing)
        {
            var certLogger = bootstrapLoggers.CreateLogger<ServerCertificateProvider>();
            certificate = options.CertPath is { Length: > 0 } path
                ? ServerCertificateProvider.FromDirectory(path, TimeSpan.FromSeconds(5), certLogger)
                : ServerCertificateProvider.SelfSigned(certLogger);
        }

        var address = options.BindAddress ?? (System.Net.Sockets.Socket.OSSupportsIPv6 ? System.Net.IPAddress.IPv6Any : System.Net.IPAddress.Any);
        GrpcListener[] listeners =
        [
            new(address, options.GrpcPort, extProc.CreateServiceTable("ext_proc"), certificate),
            new(address, options.GrpcHealthPort, new HealthService(health).CreateServiceTable()),
        ];
        builder.WebHost.ConfigureKestrel(kestrel => KestrelGrpcSetup.Configure(kestrel, options.Grpc, listeners));

        var app = builder.Build();
        var dispatcher = new GrpcDispatcher(options.Grpc, app.Services.GetRequiredService<ILogger<GrpcDispatcher>>());
        app.Run(dispatcher.HandleAsync);

        var logger = app.Services.GetRequiredService<ILogger<RuntimeServer>>();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            health.SetAll(ServingStatus.Serving);
            var startup = DateTime.Now - Process.GetCurrentProcess().StartTime;
            Log.Listening(logger, options.GrpcPort, options.GrpcHealthPort, options.SecureServing ? "TLS" : "h2c", processor.Name, (long)startup.TotalMilliseconds);
        });
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            // Tell health checkers first, so load balancers stop sending while streams drain.
            health.ShutDown();
            Log.Draining(logger, options.Grpc.ShutdownGracePeriod.TotalSeconds);
        });

        foreach (var flag in options.AcceptedButUnused)
        {
            Log.FlagNotUsed(logger, flag);
        }

        var pluginFailures = configuration?.Activate(app.Services.GetRequiredService<ILoggerFactory>(), app.Lifetime.ApplicationStopping) ?? [];
        return new RuntimeServer(app, certificate, pluginFailures);
    }

    /// <summary>Runs until SIGTERM/SIGINT, then drains open streams for the grace period.</summary>
    public Task RunAsync() => _app.RunAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync().ConfigureAwait(false);
        _certificate?.Dispose();
    }

    private static LogLevel LogLevelFor(int verbosity) => verbosity switch
    {
        <= 1 => LogLevel.Information,
        <= 3 => LogLevel.Debug,
        _ => LogLevel.Trace,
    };

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Serving ext_proc on :{GrpcPort} and gRPC health on :{HealthPort} ({Security}, processor {Processor}); started in {StartupMs} ms")]
        public static partial void Listening(ILogger logger, int grpcPort, int healthPort, string security, string processor, long startupMs);

        [LoggerMessage(2, LogLevel.Information, "Shutting down: health set to NOT_SERVING, draining open streams for up to {GraceSeconds} s")]
        public static partial void Draining(ILogger logger, double graceSeconds);

        [LoggerMessage(3, LogLevel.Warning, "Flag --{Flag} is accepted for compatibility with the Go endpoint picker but has no effect in this build yet")]
        public static partial void FlagNotUsed(ILogger logger, string flag);
    }
}
