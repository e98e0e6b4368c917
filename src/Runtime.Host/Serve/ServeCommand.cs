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
using Runtime.Transport.Grpc;
using Runtime.Transport.Hosting;

namespace Runtime.Host.Serve;

/// <summary><c>runtime serve</c>: binds the Go endpoint picker's flags and runs the server.</summary>
internal static class ServeCommand
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        if (!TryParse(args, out var options, out var errors, out _))
        {
            return UsageErrors.Write(Console.Error, "serve", errors);
        }

        // Configuration problems stop the process before it listens: every error, with its line.
        var plugins = HostPlugins.Build();
        if (!plugins.IsValid)
        {
            ConfigReport.WriteRegistrationErrors(plugins, Console.Error);
            return 1;
        }

        var config = new EndpointPickerConfigLoader(plugins.Registry) { AllowExperimentalPlugins = options.AllowExperimentalPlugins }.LoadFromFlags(options.ConfigFile, options.ConfigText);
        if (!config.IsValid)
        {
            ConfigReport.WriteErrors(config, Console.Error);
            await Console.Error.WriteLineAsync("refusing to start: the configuration is invalid").ConfigureAwait(false);
            return 1;
        }

        using var loggers = RuntimeLogging.CreateFactory(options.Logging);
        using var exporter = options.MetricsPort > 0 ? new PrometheusExporter(logger: loggers.CreateLogger<PrometheusExporter>()) : null;
        using var processMetrics = exporter is null ? null : ProcessMetrics.Register(exporter);
        using var tracing = options.Tracing ? RuntimeTracing.Start(RuntimeTracing.EndpointPickerService, loggers.CreateLogger<RuntimeTracing>()) : null;
        using var streamMetrics = options.GrpcStreamMetrics ? new ExtProcStreamMetrics() : null;
        if (options.Processor == ServeOptions.PassThroughProcessorName)
        {
            return await ServeAsync(options, [new(new PassThroughProcessor(), options.GrpcPort, options.GrpcHealthPort, options.DefaultRequestBodyMode, options.DefaultResponseBodyMode)
            {
                Tracing = tracing?.EndpointPicker,
                StreamMetrics = streamMetrics,
            }], start: null, loggers, exporter).ConfigureAwait(false);
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
            new(picker.Processor, options.GrpcPort, options.GrpcHealthPort, options.DefaultRequestBodyMode, options.DefaultResponseBodyMode)
            {
                Readiness = picker.Readiness,
                Leadership = picker.Leader?.Leadership,
                Tracing = tracing?.EndpointPicker,
                StreamMetrics = streamMetrics,
            },
        };
        if (options.BbrGrpcPort > 0)
        {
            // The body-based router with its default chain, as the Go project deploys it next to the picker.
            var bbr = new BbrExtProcProcessor(new BbrChain(BbrPlugins.DefaultChain(bbrMetrics, bbrMappings), []), bbrMetrics, loggers.CreateLogger<BbrExtProcProcessor>());
            listeners.Add(new(bbr, options.BbrGrpcPort, options.BbrGrpcHealthPort, BodySendMode.FullDuplexStreamed, BodySendMode.FullDuplexStreamed)
            {
                Health = HealthRules.BodyRouter,
                Tracing = tracing?.BodyRouter,
            });
        }

        return await ServeAsync(options, listeners, picker.Start, loggers, exporter).ConfigureAwait(false);
    }

    private static async Task<int> ServeAsync(ServeOptions options, IReadOnlyList<RuntimeServer.ExtProcListener> listeners, Action<CancellationToken>? start, ILoggerFactory loggers, PrometheusExporter? metrics)
    {
        RuntimeServer server;
        try
        {
            server = RuntimeServer.Create(options, listeners, loggers, metrics);
        }
        catch (InvalidOperationException ex)
        {
            // e.g. --cert-path without readable tls.crt/tls.key
            await Console.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return 1;
        }

        await using var ownedServer = server.ConfigureAwait(false);
        return await ServerStartup.RunAsync(server, start is null ? null : () => start(server.Stopping)).ConfigureAwait(false);
    }

    /// <summary>The deprecated metric-name flags (Go v1.5.0 refuses them; we apply them with a warning) and the engine field each sets.</summary>
    internal static readonly IReadOnlyList<(string Flag, string Default, string Usage)> MetricNameFlags =
    [
        ("total-queued-requests-metric", "vllm:num_requests_waiting", "Prometheus metric for the number of queued requests."),
        ("total-running-requests-metric", "vllm:num_requests_running", "Prometheus metric for the number of running requests."),
        ("kv-cache-usage-percentage-metric", "vllm:kv_cache_usage_perc", "Prometheus metric for the fraction of KV-cache blocks currently in use (from 0 to 1)."),
        ("lora-info-metric", "vllm:lora_requests_info", "Prometheus metric for the LoRA info metrics (must be in vLLM label format)."),
        ("cache-info-metric", "vllm:cache_config_info", "Prometheus metric for the cache info metrics."),
    ];

    /// <summary>When there is no API server to check metrics tokens.</summary>
    private const string NoApiServer = "static endpoints and --manifests-dir have none";

    public static bool TryParse(IReadOnlyList<string> args, out ServeOptions options, out IReadOnlyList<string> errors, out string usage)
    {
        var o = new ServeOptions();
        var grpc = o.Grpc;
        var flags = new FlagSet();
        var metricNames = new Dictionary<string, string>(StringComparer.Ordinal);
        var errorList = new List<string>();
        bool? metricsAuth = null;

        // The Go endpoint picker's flags (GIE v1.5.0 pkg/epp/server/options.go, then llm-d v0.10's additions), Go help texts.
        flags.Int("grpc-port", o.GrpcPort, "gRPC port used for communicating with Envoy proxy.", v => o = o with { GrpcPort = v });
        flags.Bool("ha-enable-leader-election", false, "Enables leader election for high availability. When enabled, readiness probes will only pass on the leader.", v => o = o with { LeaderElection = v });
        flags.Duration("drain-timeout", grpc.ShutdownGracePeriod, "Graceful shutdown drain window. On SIGTERM the EPP goes NotServing and keeps serving ext_proc for this duration so in-flight requests are not rejected.", v => grpc = grpc with { ShutdownGracePeriod = v });
        flags.String("grpc-max-recv-msg-size", string.Empty, "Maximum size of a gRPC message to receive (e.g., 10MiB, 25MB).", v => grpc = v.Length == 0 ? grpc : grpc with { MaxReceiveMessageSize = ByteSize.Parse(v) });
        flags.String("grpc-max-send-msg-size", string.Empty, "Maximum size of a gRPC message to send (e.g., 10MiB, 25MB).", v => grpc = v.Length == 0 ? grpc : grpc with { MaxSendMessageSize = ByteSize.Parse(v) });
        flags.String("pool-group", o.PoolGroup, "Kubernetes resource group of the InferencePool this Endpoint Picker is associated with.", v => o = o with { PoolGroup = v });
        flags.String("pool-namespace", string.Empty, "Namespace of the InferencePool this Endpoint Picker is associated with (default: $NAMESPACE, else \"default\").", v => o = o with { PoolNamespace = v });
        flags.String("pool-name", string.Empty, "Name of the InferencePool this Endpoint Picker is associated with.", v => o = o with { PoolName = v });
        flags.String("endpoint-selector", string.Empty, "Selector to filter model server pods on, only 'key=value' pairs are supported. Format: a comma-separated list of key=value pairs without whitespace (e.g., 'app=vllm-qwen3-32b,env=prod').", v => o = o with { EndpointSelector = v });
        flags.Ints("endpoint-target-ports", "Target ports of model server pods. Format: a comma-separated list of numbers without whitespace (e.g., '3000,3001,3002').", v => o = o with { EndpointTargetPorts = string.Join(',', v.Distinct()) });
        flags.Bool("disable-endpoint-subset-filter", false, "Disables respecting the x-gateway-destination-endpoint-subset metadata for dispatching requests in EPP.", v => o = o with { DisableEndpointSubsetFilter = v });
        flags.Bool("emit-endpoint-scores", false, "Enables emitting the scheduler's per-endpoint scores in the request-path dynamic metadata under the 'x-gateway-destination-endpoint-scores' key of the 'envoy.lb' namespace.", v => o = o with { EmitEndpointScores = v });
        flags.String("model-server-metrics-scheme", o.MetricsScheme, "Protocol scheme used in scraping metrics from endpoints.", v => o = o with { MetricsScheme = v });
        flags.String("model-server-metrics-path", o.MetricsPath, "URL path used in scraping metrics from endpoints.", v => o = o with { MetricsPath = v });
        flags.Int("model-server-metrics-port", 0, "Port to scrape metrics from endpoints. Set to the InferencePool.Spec.TargetPorts[0].Number if not defined.", v => o = o with { ModelServerMetricsPort = v });
        flags.Bool("model-server-metrics-https-insecure-skip-verify", o.MetricsInsecureSkipVerify, "Disable certificate verification when using 'https' scheme for 'model-server-metrics-scheme'.", v => o = o with { MetricsInsecureSkipVerify = v });
        flags.Deprecate("model-server-metrics-scheme", "This flag is deprecated. Configure via EndpointPickerConfig data layer plugin parameters instead.")
            .Deprecate("model-server-metrics-path", "This flag is deprecated. Configure via EndpointPickerConfig data layer plugin parameters instead.")
            .Deprecate("model-server-metrics-port", "This flag is deprecated and will be removed in a future release.")
            .Deprecate("model-server-metrics-https-insecure-skip-verify", "This flag is deprecated. Configure via EndpointPickerConfig data layer plugin parameters instead.");
        flags.Duration("refresh-metrics-interval", o.RefreshMetricsInterval, "Interval to refresh metrics.", v => o = o with { RefreshMetricsInterval = v });
        flags.Duration("refresh-prometheus-metrics-interval", TimeSpan.FromSeconds(5), "Interval to flush Prometheus metrics.", _ => { });
        flags.Note("refresh-prometheus-metrics-interval", "no effect needed: pool gauges are computed from live endpoint state when /metrics is scraped");
        flags.Duration("metrics-staleness-threshold", o.MetricsStalenessThreshold, "Duration after which metrics are considered stale. This is used to determine if an endpoint's metrics are fresh enough.", v => o = o with { MetricsStalenessThreshold = v });
        foreach (var (name, defaultValue, help) in MetricNameFlags)
        {
            flags.String(name, defaultValue, help, v => metricNames[name] = v);
            flags.Deprecate(name, "use engineConfigs in EndpointPickerConfig instead (applied here to the built-in vllm mapping unless the config sets engines)");
        }

        var logging = o.Logging;
        CommonFlags.Logging(flags, () => logging, v => logging = v);
        CommonFlags.Observability(flags, v => o = o with { Tracing = v });
        CommonFlags.BodyMemory(flags, v => o = o with { MaxBufferedBodyBytes = v }, v => o = o with { BufferPoolRetainBytes = v });
        CommonFlags.ThreadScheduling(flags, v => o = o with { ThreadScheduling = v });
        flags.Bool("health-checking", false, "Enables health checking.", v => o = o with { HealthCheckingOnExtProcPort = v });
        flags.Int("metrics-port", o.MetricsPort, "The metrics port exposed by EPP.", v => o = o with { MetricsPort = v });
        flags.Int("grpc-health-port", o.GrpcHealthPort, "The port used for gRPC liveness and readiness probes.", v => o = o with { GrpcHealthPort = v });
        flags.String("cert-path", string.Empty, "The path to the certificate for secure serving. The certificate and private key files are assumed to be named tls.crt and tls.key, respectively. If not set, and secureServing is enabled, then a self-signed certificate is used.", v => o = o with { CertPath = v });
        flags.Bool("enable-cert-reload", false, "Enables certificate reloading of the certificates specified in --cert-path.", v => o = o with { EnableCertReload = v });
        flags.Bool("enable-grpc-stream-metrics", false, "Enables ext_proc gRPC stream metrics (in-flight gauge, hold-duration histogram, completions counter by code).", v => o = o with { GrpcStreamMetrics = v });
        flags.Bool("secure-serving", o.SecureServing, "Enables secure serving.", v => o = o with { SecureServing = v });
        string? tlsMinVersion = null, metricsCertDir = null, metricsClientCa = null;
        var cipherSuites = new List<string>();
        flags.String("tls-min-version", string.Empty, "Minimum TLS version for secure serving (e.g., VersionTLS12, VersionTLS13). Here: the system's OpenSSL may refuse more (Debian 12 refuses TLS 1.0/1.1 even with VersionTLS10).", v => tlsMinVersion = v);
        flags.String("tls-cipher-suites", "[]", "Comma-separated list of TLS cipher suites for secure serving (Go crypto/tls names, e.g., TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256). Only effective for TLS 1.2 and below; TLS 1.3 cipher suites are not configurable.", v => cipherSuites.AddRange(v.Split(',')));
        CommonFlags.MetricsEndpointAuth(flags, NoApiServer, v => metricsAuth = v);
        flags.String("metrics-client-ca-file", string.Empty, "PEM CA for metrics mTLS: require verified client certs.", v => metricsClientCa = v);
        flags.String("metrics-cert-dir", string.Empty, "Directory with the metrics server certificates. Enables TLS on the metrics endpoint.", v => metricsCertDir = v);
        flags.String("config-file", string.Empty, "The path to the configuration file.", v => o = o with { ConfigFile = v });
        flags.Bool("watch-config-file", true, "Reload --config-file when it changes (including a ConfigMap volume's ..data swap): a valid change replaces the plugin graph for new requests, an invalid one is logged and the last good config stays. =false: read once at start.", v => o = o with { WatchConfigFile = v });
        flags.String("config-text", string.Empty, "The configuration specified as text, in lieu of a file.", v => o = o with { ConfigText = v });
        flags.Bool("allow-experimental-plugins", false, "Allows loading of experimental Alpha plugins.", v => o = o with { AllowExperimentalPlugins = v });

        // Ours: listeners and transport tuning, static endpoints, the edge control plane, the body-based router beside the picker.
        flags.String("bind-address", string.Empty, "IP address to listen on (default: all interfaces)", v => o = o with { BindAddress = string.IsNullOrEmpty(v) ? null : IPAddress.Parse(v) });
        flags.Int("grpc-max-message-size", grpc.MaxReceiveMessageSize, "Largest accepted gRPC request message in bytes (the same as --grpc-max-recv-msg-size)", v => grpc = grpc with { MaxReceiveMessageSize = v });
        flags.Int("grpc-max-concurrent-streams", grpc.MaxStreamsPerConnection, "HTTP/2 concurrent streams allowed per connection", v => grpc = grpc with { MaxStreamsPerConnection = v });
        flags.Int("http2-connection-window", grpc.InitialConnectionWindowSize, "HTTP/2 receive window per connection in bytes", v => grpc = grpc with { InitialConnectionWindowSize = v });
        flags.Int("http2-stream-window", grpc.InitialStreamWindowSize, "HTTP/2 receive window per stream in bytes", v => grpc = grpc with { InitialStreamWindowSize = v });
        flags.Duration("shutdown-grace-period", grpc.ShutdownGracePeriod, "How long open streams may finish after SIGTERM (the same as --drain-timeout)", v => grpc = grpc with { ShutdownGracePeriod = v });
        flags.String("default-request-body-mode", "FULL_DUPLEX_STREAMED", "Request body mode when Envoy sends no protocol_config", v => o = o with { DefaultRequestBodyMode = ParseMode(v) });
        flags.String("default-response-body-mode", "FULL_DUPLEX_STREAMED", "Response body mode when Envoy sends no protocol_config", v => o = o with { DefaultResponseBodyMode = ParseMode(v) });
        flags.String("processor", o.Processor, "endpoint-picker, or pass-through (echo everything; the baseline for load tests)", v => o = o with { Processor = v });
        var objectives = new List<string>();
        var rewrites = new List<string>();
        flags.String("endpoints", string.Empty, "Static endpoints without a control plane: comma-separated ip:port, each optionally followed by space-separated key=value labels", v => o = o with { Endpoints = v });
        flags.String("endpoints-file", string.Empty, "File of static endpoints, one ip:port [key=value...] per line; reloaded when it changes", v => o = o with { EndpointsFile = v });
        flags.Repeated("objective", "An InferenceObjective as name=priority (higher first; negative is sheddable); repeat for more", objectives);
        flags.Repeated("model-rewrite", "An InferenceModelRewrite rule as model=target[:weight][,target[:weight]...]; repeat for more", rewrites);
        flags.Int("bbr-grpc-port", o.BbrGrpcPort, "Port of the body-based router served alongside the endpoint picker (0: off)", v => o = o with { BbrGrpcPort = v });
        flags.Int("bbr-grpc-health-port", o.BbrGrpcHealthPort, "gRPC health port of the body-based router", v => o = o with { BbrGrpcHealthPort = v });
        flags.String("manifests-dir", string.Empty, "Read InferencePools, objectives, rewrites, pods and ConfigMaps from this directory of YAML manifests instead of the Kubernetes API", v => o = o with { ManifestsDir = v });
        flags.String("kubeconfig", string.Empty, "Kubeconfig to reach the API server from outside a cluster (default: in-cluster, then $KUBECONFIG)", v => o = o with { Kubeconfig = v });
        flags.Duration("kube-relist-interval", TimeSpan.Zero, "0 watches the Kubernetes API; a positive interval re-lists every kind that often instead (state-reconciler mode)", v => o = o with { KubeRelistInterval = v });
        flags.String("kube-api-qps", string.Empty, "Accepted for old Go endpoint picker args", _ => { });
        flags.String("kube-api-burst", string.Empty, "Accepted for old Go endpoint picker args", _ => { });
        flags.Note("kube-api-qps", "no effect: the control plane opens one list/watch per kind, far below any client rate limit")
            .Note("kube-api-burst", "no effect: the control plane opens one list/watch per kind, far below any client rate limit");

        var replicaState = ReplicaStateFlags.Bind(flags);

        flags.Parse(args);
        errorList.AddRange(flags.Errors);
        o = o with { ReplicaState = replicaState.Resolve(o, flags, errorList) };
        o = o with
        {
            MetricsEndpointAuth = MetricsListener.ResolveAuth(metricsAuth, o.UsesKubernetesApi, NoApiServer, errorList),
            MetricsCertDir = metricsCertDir,
            MetricsClientCaFile = metricsClientCa,
        };
        if (TlsPolicy.TryParse(tlsMinVersion, cipherSuites, out var tls, out var tlsErrors))
        {
            o = o with { TlsPolicy = tls };
        }

        errorList.AddRange(tlsErrors);
        MetricsListener.Validate(o, errorList);
        Validate(o, grpc, objectives, rewrites, flags, errorList);
        options = o with
        {
            Grpc = grpc,
            Logging = logging,
            Objectives = objectives,
            ModelRewrites = rewrites,
            MetricNameFlags = metricNames,
            FlagNotes = [.. flags.Notes],
        };
        errors = errorList;
        usage = flags.Usage();
        return errorList.Count == 0;
    }

    private static void Validate(ServeOptions o, GrpcServerOptions grpc, List<string> objectives, List<string> rewrites, FlagSet flags, List<string> errorList)
    {
        if (grpc.MaxReceiveMessageSize <= 0)
        {
            errorList.Add("--grpc-max-message-size must be positive");
        }

        if (flags.IsSet("config-file") && flags.IsSet("config-text"))
        {
            errorList.Add("both the \"config-file\" and \"config-text\" flags cannot be set at the same time");
        }

        if (o.EndpointTargetPorts is { Length: > 0 } ports && ports.Split(',') is var list && (list.Length > 8 || list.Any(p => int.Parse(p, System.Globalization.CultureInfo.InvariantCulture) is < 0 or > 65535)))
        {
            errorList.Add("flag \"endpoint-target-ports\" should have length from 1 to 8, each port in 0..65535");
        }

        if (o.ModelServerMetricsPort is < 0 or > 65535)
        {
            errorList.Add("--model-server-metrics-port must be in 0..65535");
        }

        if (o.MetricsStalenessThreshold <= TimeSpan.Zero)
        {
            errorList.Add("--metrics-staleness-threshold must be positive");
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
            errorList.Add($"unexpected \"{o.MetricsScheme}\" value for \"model-server-metrics-scheme\" flag, it can only be set to 'http' or 'https'");
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

        if (o.LeaderElection && !o.UsesKubernetesApi)
        {
            errorList.Add("--ha-enable-leader-election takes a Lease in the Kubernetes API: it needs --pool-name (or --endpoint-selector) without --manifests-dir, --endpoints or --endpoints-file");
        }

        if (!string.IsNullOrEmpty(o.ManifestsDir) && string.IsNullOrEmpty(o.PoolName) && string.IsNullOrEmpty(o.EndpointSelector))
        {
            errorList.Add("--manifests-dir needs --pool-name (or --endpoint-selector with --endpoint-target-ports) to know which pool to serve");
        }
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
