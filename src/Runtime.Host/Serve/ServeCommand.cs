using System.Net;
using Runtime.Transport.Health;
using Runtime.ExtProc.Codec;
using Microsoft.Extensions.Logging;
using Runtime.Bbr;
using Runtime.Bbr.Mappings;
using Runtime.ExtProc.Stream;
using Runtime.Configuration.Loading;
using Runtime.Host.Cli;
using Runtime.Host.Config;
using Runtime.Telemetry.Prometheus;

namespace Runtime.Host.Serve;

/// <summary><c>runtime serve</c>: binds the Go endpoint picker's flags and runs the server.</summary>
internal static class ServeCommand
{
    /// <summary>Go endpoint picker flags that later capabilities will act on; accepted now so its container args work.</summary>
    private static readonly string[] s_compatibilityFlags =
    [
        "model-server-metrics-port", "ha-enable-leader-election",
        "enable-pprof", "tracing", "kube-api-qps", "kube-api-burst", "total-queued-requests-metric",
        "total-running-requests-metric", "kv-cache-usage-percentage-metric", "lora-info-metric", "cache-info-metric",
        "metrics-endpoint-auth", "zap-log-level", "zap-encoder", "zap-devel", "zap-stacktrace-level", "zap-time-encoding",
    ];

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        if (!TryParse(args, out var options, out var errors, out var usage))
        {
            foreach (var error in errors)
            {
                await Console.Error.WriteLineAsync(error).ConfigureAwait(false);
            }

            await Console.Error.WriteLineAsync("Usage of runtime serve:\n" + usage).ConfigureAwait(false);
            return 2;
        }

        // Configuration problems stop the process before it listens: every error, with its line.
        var plugins = HostPlugins.Build();
        if (!plugins.IsValid)
        {
            ConfigReport.WriteRegistrationErrors(plugins, Console.Error);
            return 1;
        }

        var config = new EndpointPickerConfigLoader(plugins.Registry).LoadFromFlags(options.ConfigFile, options.ConfigText);
        if (!config.IsValid)
        {
            ConfigReport.WriteErrors(config, Console.Error);
            await Console.Error.WriteLineAsync("refusing to start: the configuration is invalid").ConfigureAwait(false);
            return 1;
        }

        using var loggers = RuntimeServer.CreateLoggerFactory(options.Verbosity);
        using var exporter = options.MetricsPort > 0 ? new PrometheusExporter() : null;
        if (options.Processor == ServeOptions.PassThroughProcessorName)
        {
            return await ServeAsync(options, [new(new PassThroughProcessor(), options.GrpcPort, options.GrpcHealthPort, options.DefaultRequestBodyMode, options.DefaultResponseBodyMode)], start: null, exporter).ConfigureAwait(false);
        }

        var problems = new List<string>();
        using var bbrMetrics = new BbrMetrics();
        using var bbrMappings = new BaseModelMappingSource(BaseModelMappings.Empty);
        var picker = EndpointPickerHost.TryCreate(options, plugins.Registry, config, options.BbrGrpcPort > 0 ? bbrMappings : null, loggers, problems);
        if (picker is null)
        {
            foreach (var problem in problems)
            {
                await Console.Error.WriteLineAsync(problem).ConfigureAwait(false);
            }

            await Console.Error.WriteLineAsync("refusing to start: the endpoint picker could not be built").ConfigureAwait(false);
            return 1;
        }

        await using var ownedPicker = picker.ConfigureAwait(false);
        if (exporter is not null)
        {
            picker.RegisterMetrics(exporter, options.PoolName is { Length: > 0 } pool ? pool : options.UsesControlPlane ? string.Empty : "static");
        }

        var listeners = new List<RuntimeServer.ExtProcListener>
        {
            // Only the picker waits for its pool; the body-based router beside it serves at once.
            new(picker.Processor, options.GrpcPort, options.GrpcHealthPort, options.DefaultRequestBodyMode, options.DefaultResponseBodyMode) { Readiness = picker.Readiness },
        };
        if (options.BbrGrpcPort > 0)
        {
            // The body-based router with its default chain, as the Go project deploys it next to the picker.
            var bbr = new BbrExtProcProcessor(new BbrChain(BbrPlugins.DefaultChain(bbrMetrics, bbrMappings), []), bbrMetrics, loggers.CreateLogger<BbrExtProcProcessor>());
            listeners.Add(new(bbr, options.BbrGrpcPort, options.BbrGrpcHealthPort, BodySendMode.FullDuplexStreamed, BodySendMode.FullDuplexStreamed) { Health = HealthRules.BodyRouter });
        }

        return await ServeAsync(options, listeners, picker.Start, exporter).ConfigureAwait(false);
    }

    private static async Task<int> ServeAsync(ServeOptions options, IReadOnlyList<RuntimeServer.ExtProcListener> listeners, Action? start, PrometheusExporter? metrics)
    {
        RuntimeServer server;
        try
        {
            server = RuntimeServer.Create(options, listeners, metrics);
        }
        catch (InvalidOperationException ex)
        {
            // e.g. --cert-path without readable tls.crt/tls.key
            await Console.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return 1;
        }

        await using var ownedServer = server.ConfigureAwait(false);
        start?.Invoke();
        await server.RunAsync().ConfigureAwait(false);
        return 0;
    }

    public static bool TryParse(IReadOnlyList<string> args, out ServeOptions options, out IReadOnlyList<string> errors, out string usage)
    {
        var o = new ServeOptions();
        var grpc = o.Grpc;
        var flags = new FlagSet();
        flags.Int("grpc-port", o.GrpcPort, "The gRPC port used for communicating with Envoy proxy", v => o = o with { GrpcPort = v });
        flags.Int("grpc-health-port", o.GrpcHealthPort, "The port used for gRPC liveness and readiness probes", v => o = o with { GrpcHealthPort = v });
        flags.Int("metrics-port", o.MetricsPort, "The port serving Prometheus metrics on /metrics (0 = off)", v => o = o with { MetricsPort = v });
        flags.Bool("secure-serving", o.SecureServing, "Enables secure serving (TLS) of the ext_proc port", v => o = o with { SecureServing = v });
        flags.String("cert-path", string.Empty, "Directory holding tls.crt and tls.key; a self-signed certificate is generated when empty", v => o = o with { CertPath = v });
        flags.Int("v", o.Verbosity, "Log verbosity (1 info, 2-3 debug, 4+ trace)", v => o = o with { Verbosity = v });
        flags.String("bind-address", string.Empty, "IP address to listen on (default: all interfaces)", v => o = o with { BindAddress = string.IsNullOrEmpty(v) ? null : IPAddress.Parse(v) });
        flags.Int("grpc-max-message-size", grpc.MaxReceiveMessageSize, "Largest accepted gRPC request message in bytes", v => grpc = grpc with { MaxReceiveMessageSize = v });
        flags.Int("grpc-max-concurrent-streams", grpc.MaxStreamsPerConnection, "HTTP/2 concurrent streams allowed per connection", v => grpc = grpc with { MaxStreamsPerConnection = v });
        flags.Int("http2-connection-window", grpc.InitialConnectionWindowSize, "HTTP/2 receive window per connection in bytes", v => grpc = grpc with { InitialConnectionWindowSize = v });
        flags.Int("http2-stream-window", grpc.InitialStreamWindowSize, "HTTP/2 receive window per stream in bytes", v => grpc = grpc with { InitialStreamWindowSize = v });
        flags.Duration("shutdown-grace-period", grpc.ShutdownGracePeriod, "How long open streams may finish after SIGTERM", v => grpc = grpc with { ShutdownGracePeriod = v });
        flags.String("default-request-body-mode", "FULL_DUPLEX_STREAMED", "Request body mode when Envoy sends no protocol_config", v => o = o with { DefaultRequestBodyMode = ParseMode(v) });
        flags.String("config-file", string.Empty, "The path to the EndpointPickerConfig file; without it and --config-text, the built-in default configuration is used", v => o = o with { ConfigFile = v });
        flags.String("config-text", string.Empty, "The EndpointPickerConfig as text, in lieu of a file", v => o = o with { ConfigText = v });
        flags.String("default-response-body-mode", "FULL_DUPLEX_STREAMED", "Response body mode when Envoy sends no protocol_config", v => o = o with { DefaultResponseBodyMode = ParseMode(v) });
        flags.String("processor", o.Processor, "endpoint-picker, or pass-through (echo everything; the baseline for load tests)", v => o = o with { Processor = v });
        var objectives = new List<string>();
        var rewrites = new List<string>();
        flags.String("endpoints", string.Empty, "Static endpoints without a control plane: comma-separated ip:port, each optionally followed by space-separated key=value labels", v => o = o with { Endpoints = v });
        flags.String("endpoints-file", string.Empty, "File of static endpoints, one ip:port [key=value...] per line; reloaded when it changes", v => o = o with { EndpointsFile = v });
        flags.Repeated("objective", "An InferenceObjective as name=priority (higher first; negative is sheddable); repeat for more", objectives);
        flags.Repeated("model-rewrite", "An InferenceModelRewrite rule as model=target[:weight][,target[:weight]...]; repeat for more", rewrites);
        flags.Duration("refresh-metrics-interval", o.RefreshMetricsInterval, "Interval to refresh each endpoint's metrics", v => o = o with { RefreshMetricsInterval = v });
        flags.String("model-server-metrics-scheme", o.MetricsScheme, "Scheme to scrape model-server metrics with (http or https)", v => o = o with { MetricsScheme = v });
        flags.String("model-server-metrics-path", o.MetricsPath, "Path of the model servers' Prometheus metrics", v => o = o with { MetricsPath = v });
        flags.Bool("model-server-metrics-https-insecure-skip-verify", o.MetricsInsecureSkipVerify, "Skip TLS verification when scraping over https", v => o = o with { MetricsInsecureSkipVerify = v });
        flags.Int("bbr-grpc-port", o.BbrGrpcPort, "Port of the body-based router served alongside the endpoint picker (0: off)", v => o = o with { BbrGrpcPort = v });
        flags.Int("bbr-grpc-health-port", o.BbrGrpcHealthPort, "gRPC health port of the body-based router", v => o = o with { BbrGrpcHealthPort = v });
        flags.String("pool-name", string.Empty, "Name of the InferencePool this endpoint picker is associated with", v => o = o with { PoolName = v });
        flags.String("pool-namespace", string.Empty, "Namespace of the InferencePool (default: $NAMESPACE, else \"default\")", v => o = o with { PoolNamespace = v });
        flags.String("pool-group", o.PoolGroup, "API group of the InferencePool", v => o = o with { PoolGroup = v });
        flags.String("endpoint-selector", string.Empty, "Standalone mode without an InferencePool: label selector of the model-server pods (a=b,c=d)", v => o = o with { EndpointSelector = v });
        flags.String("endpoint-target-ports", string.Empty, "Standalone mode: comma-separated target ports of the model-server pods", v => o = o with { EndpointTargetPorts = v });
        flags.String("manifests-dir", string.Empty, "Read InferencePools, objectives, rewrites, pods and ConfigMaps from this directory of YAML manifests instead of the Kubernetes API", v => o = o with { ManifestsDir = v });
        flags.String("kubeconfig", string.Empty, "Kubeconfig to reach the API server from outside a cluster (default: in-cluster, then $KUBECONFIG)", v => o = o with { Kubeconfig = v });
        flags.Duration("kube-relist-interval", TimeSpan.Zero, "0 watches the Kubernetes API; a positive interval re-lists every kind that often instead (state-reconciler mode)", v => o = o with { KubeRelistInterval = v });
        foreach (var name in s_compatibilityFlags)
        {
            flags.String(name, string.Empty, "Accepted for compatibility with the Go endpoint picker; no effect yet", _ => { });
        }

        flags.Parse(args);
        var errorList = new List<string>(flags.Errors);
        if (grpc.MaxReceiveMessageSize <= 0)
        {
            errorList.Add("--grpc-max-message-size must be positive");
        }

        if (o.Processor is not (ServeOptions.EndpointPickerProcessorName or ServeOptions.PassThroughProcessorName))
        {
            errorList.Add($"--processor must be {ServeOptions.EndpointPickerProcessorName} or {ServeOptions.PassThroughProcessorName}, got \"{o.Processor}\"");
        }

        if (o.RefreshMetricsInterval <= TimeSpan.Zero)
        {
            errorList.Add("--refresh-metrics-interval must be positive");
        }

        if (o.MetricsScheme is not ("http" or "https"))
        {
            errorList.Add($"--model-server-metrics-scheme must be http or https, got \"{o.MetricsScheme}\"");
        }

        if (o.UsesControlPlane && (!string.IsNullOrEmpty(o.Endpoints) || !string.IsNullOrEmpty(o.EndpointsFile)))
        {
            errorList.Add("--endpoints and --endpoints-file are static endpoint lists; they cannot be combined with --pool-name, --endpoint-selector or --manifests-dir");
        }

        if (o.UsesControlPlane && (objectives.Count > 0 || rewrites.Count > 0))
        {
            errorList.Add("--objective and --model-rewrite are for static endpoints; with a control plane, objectives and rewrites come from InferenceObjective and InferenceModelRewrite resources");
        }

        if (!string.IsNullOrEmpty(o.PoolName) && !string.IsNullOrEmpty(o.EndpointSelector))
        {
            errorList.Add("--pool-name and --endpoint-selector are exclusive: pick the InferencePool or standalone mode");
        }

        if (!string.IsNullOrEmpty(o.EndpointSelector) != !string.IsNullOrEmpty(o.EndpointTargetPorts))
        {
            errorList.Add("--endpoint-selector and --endpoint-target-ports go together");
        }

        if (!string.IsNullOrEmpty(o.ManifestsDir) && string.IsNullOrEmpty(o.PoolName) && string.IsNullOrEmpty(o.EndpointSelector))
        {
            errorList.Add("--manifests-dir needs --pool-name (or --endpoint-selector with --endpoint-target-ports) to know which pool to serve");
        }

        options = o with
        {
            Grpc = grpc,
            Objectives = objectives,
            ModelRewrites = rewrites,
            AcceptedButUnused = flags.Given.Where(s_compatibilityFlags.Contains).ToArray(),
        };
        errors = errorList;
        usage = flags.Usage();
        return errorList.Count == 0;
    }

    private static BodySendMode ParseMode(string value) => value.ToUpperInvariant() switch
    {
        "NONE" => BodySendMode.None,
        "STREAMED" => BodySendMode.Streamed,
        "BUFFERED" => BodySendMode.Buffered,
        "BUFFERED_PARTIAL" => BodySendMode.BufferedPartial,
        "FULL_DUPLEX_STREAMED" => BodySendMode.FullDuplexStreamed,
        _ => throw new FormatException($"invalid body mode \"{value}\" (NONE, STREAMED, BUFFERED, BUFFERED_PARTIAL, FULL_DUPLEX_STREAMED)"),
    };
}
