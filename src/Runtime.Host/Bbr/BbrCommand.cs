using System.Text.Json;
using Microsoft.Extensions.Logging;
using Runtime.Bbr;
using Runtime.Bbr.Mappings;
using Runtime.Bbr.Processors;
using Runtime.Configuration.Loading;
using Runtime.ExtProc.Codec;
using Runtime.Host.Cli;
using Runtime.Host.Config;
using Runtime.Host.Serve;
using Runtime.Plugins;
using Runtime.Plugins.Activation;
using Runtime.Telemetry.Prometheus;

namespace Runtime.Host.Bbr;

/// <summary>
/// <c>runtime bbr</c>: the body-based router on its own ext_proc listener (9004, health 9005),
/// taking the Go router's flags (<c>--streaming</c>, repeated <c>--plugin type:name[:json]</c>)
/// or an EndpointPickerConfig's body-based routing plugins (<c>--config-file</c>); base-model
/// mappings from bbr-managed ConfigMaps through the Kubernetes API, or a directory at the edge.
/// </summary>
internal static class BbrCommand
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        if (args is ["--help"] or ["-h"] or ["-help"])
        {
            _ = TryParse([], out _, out _, out var help);
            await Console.Out.WriteLineAsync("Usage of runtime bbr:\n" + help + MappingsHelp).ConfigureAwait(false);
            return 0;
        }

        if (!TryParse(args, out var parsed, out var errors, out _))
        {
            return UsageErrors.Write(Console.Error, "bbr", errors);
        }

        var (options, _, pluginFlags, mappingsDir, configFile, configText) = parsed;
        var kubeconfig = options.Kubeconfig;

        using var loggers = RuntimeLogging.CreateFactory(options.Logging);
        using var exporter = options.MetricsPort > 0 ? new PrometheusExporter(logger: loggers.CreateLogger<PrometheusExporter>()) : null;
        using var processMetrics = exporter is null ? null : ProcessMetrics.Register(exporter);
        using var metrics = new BbrMetrics();
        var origin = BaseModelConfigMapWatch.Choose(mappingsDir, kubeconfig, Environment.GetEnvironmentVariable);
        using var mappings = origin != BaseModelMappingOrigin.Directory
            ? new BaseModelMappingSource(BaseModelMappings.Empty)
            : new BaseModelMappingSource(mappingsDir!, TimeSpan.FromSeconds(2), loggers.CreateLogger<BaseModelMappingSource>());
        if (mappings.LastErrors.Count > 0)
        {
            foreach (var error in mappings.LastErrors)
            {
                await Console.Error.WriteLineAsync($"--base-model-mappings-dir {mappingsDir}: {error}").ConfigureAwait(false);
            }

            return 1;
        }

        var chain = BuildChain(pluginFlags, configFile, configText, metrics, mappings, loggers, out var problems);
        if (chain is null)
        {
            foreach (var problem in problems)
            {
                await Console.Error.WriteLineAsync(problem).ConfigureAwait(false);
            }

            await Console.Error.WriteLineAsync("refusing to start: the body-based routing chain is invalid").ConfigureAwait(false);
            return 1;
        }

        var mapsBaseModels = chain.RequestProcessors.OfType<BaseModelToHeaderProcessor>().Any();
        if (!BaseModelConfigMapWatch.TryStart(origin, mapsBaseModels, kubeconfig, mappings, loggers, out var watch, out var accessError))
        {
            await Console.Error.WriteLineAsync("error: " + accessError).ConfigureAwait(false);
            return 1;
        }

        await using var ownedWatch = watch;
        var processor = new BbrExtProcProcessor(chain, metrics, loggers.CreateLogger<BbrExtProcProcessor>());
        using var tracing = options.Tracing ? RuntimeTracing.Start(RuntimeTracing.BodyRouterService, loggers.CreateLogger<RuntimeTracing>()) : null;
        RuntimeServer server;
        try
        {
            server = RuntimeServer.Create(options, processor, loggers, exporter, tracing?.BodyRouter);
        }
        catch (InvalidOperationException ex)
        {
            await Console.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return 1;
        }

        await using (server.ConfigureAwait(false))
        {
            return await ServerStartup.RunAsync(server, started: null).ConfigureAwait(false);
        }
    }

    private const string ApiServerless = "not in a cluster, no $KUBECONFIG, no --kubeconfig";

    /// <summary>What <c>runtime bbr</c>'s flags bind.</summary>
    internal sealed record BbrArguments(ServeOptions Options, bool Streaming, List<string> PluginFlags, string? MappingsDir, string? ConfigFile, string? ConfigText);

    /// <summary>Printed after the flags by <c>--help</c>: where base-model-to-header's mappings come from.</summary>
    private const string MappingsHelp = """


        Base-model mappings (base-model-to-header): from ConfigMaps labelled
        inference.networking.k8s.io/bbr-managed: "true" (data.baseModel, data.adapters), listed and
        watched through the Kubernetes API in $NAMESPACE, or in every namespace when NAMESPACE is
        unset, as the Go router does. The API is used in a cluster (KUBERNETES_SERVICE_HOST set), with
        --kubeconfig, or with $KUBECONFIG; RBAC needs get/list/watch on configmaps. If the API refuses
        (403) or cannot be reached, the router still serves, logs it once, and unknown models get an
        empty X-Gateway-Base-Model-Name. At the edge, --base-model-mappings-dir reads the same
        ConfigMaps from YAML files instead; with neither, the header is empty for every model.
        """;

    /// <summary>
    /// The Go body-based router's flags (GIE v1.5.0 pkg/bbr/server/options.go and its logging
    /// flags, Go help texts and validation), then ours. <paramref name="environment"/> (the process
    /// environment by default) tells whether an API server is there for <c>--metrics-endpoint-auth</c>.
    /// </summary>
    internal static bool TryParse(IReadOnlyList<string> args, out BbrArguments parsed, out List<string> errors, out string usage, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        bool? metricsAuth = null;
        var options = new ServeOptions { GrpcPort = 9004, GrpcHealthPort = 9005 };
        var grpc = options.Grpc;
        var logging = options.Logging;
        var streaming = false;
        var pluginFlags = new List<string>();
        string? mappingsDir = null, configFile = null, configText = null;
        var flags = new FlagSet();
        flags.Int("grpc-port", options.GrpcPort, "The gRPC port used for communicating with Envoy proxy.", v => options = options with { GrpcPort = v });
        flags.Int("grpc-health-port", options.GrpcHealthPort, "The port used for gRPC liveness and readiness probes.", v => options = options with { GrpcHealthPort = v });
        flags.Int("metrics-port", options.MetricsPort, "The metrics port exposed by BBR.", v => options = options with { MetricsPort = v });
        CommonFlags.Observability(flags, v => options = options with { Tracing = v });
        CommonFlags.BodyMemory(flags, v => options = options with { MaxBufferedBodyBytes = v }, v => options = options with { BufferPoolRetainBytes = v });
        CommonFlags.ThreadScheduling(flags, v => options = options with { ThreadScheduling = v });
        CommonFlags.MetricsEndpointAuth(flags, ApiServerless, v => metricsAuth = v);
        flags.Bool("streaming", false, "Enables streaming support for Envoy full-duplex streaming mode.", v => streaming = v);
        flags.Bool("secure-serving", options.SecureServing, "Enables secure serving.", v => options = options with { SecureServing = v });
        flags.Repeated("plugin", "Repeatable. --plugin <type>:<name>[:<json>] (default chain: body-field-to-header, base-model-to-header)", pluginFlags);
        CommonFlags.Logging(flags, () => logging, v => logging = v);

        // Ours.
        flags.String("cert-path", string.Empty, "Directory holding tls.crt and tls.key (default: a self-signed certificate)", v => options = options with { CertPath = v });
        flags.String("bind-address", string.Empty, "IP address to listen on (default: all interfaces)", v => options = options with { BindAddress = string.IsNullOrEmpty(v) ? null : System.Net.IPAddress.Parse(v) });
        flags.String("base-model-mappings-dir", string.Empty, "Directory of bbr-managed ConfigMap YAML files mapping LoRA adapters to base models (reloaded on change), instead of the Kubernetes API", v => mappingsDir = v);
        flags.String("kubeconfig", string.Empty, "Kubeconfig to reach the API server from outside a cluster, for the bbr-managed ConfigMaps and to check metrics bearer tokens (default: in-cluster, then $KUBECONFIG)", v => options = options with { Kubeconfig = v });
        flags.String("config-file", string.Empty, "EndpointPickerConfig whose body-based routing plugins form the chain", v => configFile = v);
        flags.String("config-text", string.Empty, "The same, inline", v => configText = v);
        flags.Duration("shutdown-grace-period", grpc.ShutdownGracePeriod, "How long open streams may finish after SIGTERM", v => grpc = grpc with { ShutdownGracePeriod = v });
        flags.Parse(args);
        errors = [.. flags.Errors];

        // Go's router always runs against an API server; ours needs one for the ConfigMaps and to check metrics tokens.
        var hasApiServer = BaseModelConfigMapWatch.HasApiServer(options.Kubeconfig, environment);
        options = options with { MetricsEndpointAuth = MetricsListener.ResolveAuth(metricsAuth, hasApiServer, ApiServerless, errors) };
        foreach (var (name, port) in (ReadOnlySpan<(string, int)>)[("grpc-port", options.GrpcPort), ("grpc-health-port", options.GrpcHealthPort), ("metrics-port", options.MetricsPort)])
        {
            if (port is < 1 or > 65535)
            {
                errors.Add($"invalid value {port} for flag \"{name}\": must be between 1 and 65535");
            }
        }

        if (options.GrpcPort == options.GrpcHealthPort || options.GrpcPort == options.MetricsPort || options.GrpcHealthPort == options.MetricsPort)
        {
            errors.Add($"port conflict: grpc-port ({options.GrpcPort}), grpc-health-port ({options.GrpcHealthPort}), and metrics-port ({options.MetricsPort}) must all be different");
        }

        var mode = streaming ? BodySendMode.FullDuplexStreamed : BodySendMode.Buffered;
        options = options with { Grpc = grpc, Logging = logging, DefaultRequestBodyMode = mode, DefaultResponseBodyMode = mode, FlagNotes = [.. flags.Notes] };
        if (!string.IsNullOrEmpty(mappingsDir) && !string.IsNullOrEmpty(options.Kubeconfig))
        {
            errors.Add("--base-model-mappings-dir and --kubeconfig are exclusive: base-model mappings come from a directory or from the Kubernetes API");
        }

        parsed = new BbrArguments(options, streaming, pluginFlags, mappingsDir, configFile, configText);
        usage = flags.Usage();
        return errors.Count == 0;
    }

    internal static BbrChain? BuildChain(
        IReadOnlyList<string> pluginFlags, string? configFile, string? configText, BbrMetrics metrics, BaseModelMappingSource mappings, ILoggerFactory loggers, out List<string> problems)
    {
        problems = [];
        var build = HostPlugins.Build();
        var registry = build.Registry;
        var specs = new List<PluginInstanceSpec>();
        if (!string.IsNullOrEmpty(configFile) || !string.IsNullOrEmpty(configText))
        {
            // Only the body-based routing plugins are built here, and none is Alpha: the Go router has no such flag.
            var config = new EndpointPickerConfigLoader(registry) { AllowExperimentalPlugins = true }.LoadFromFlags(configFile, configText);
            if (!config.IsValid)
            {
                problems.AddRange(config.Errors.Select(e => e.Format(config.Source)));
                return null;
            }

            specs.AddRange(config.Config!.Plugins
                .Where(p => registry.TryGet(p.Type!, out var r) && (r.Kinds & PluginKinds.BodyBasedRouting) != 0)
                .Select((p, i) => new PluginInstanceSpec(p.Name!, p.Type!, p.Parameters ?? default, $"plugins[{i}]")));
        }

        for (var i = 0; i < pluginFlags.Count; i++)
        {
            // type:name[:json] — the JSON may itself hold colons.
            var parts = pluginFlags[i].Split(':', 3);
            if (parts.Length < 2 || parts[0].Length == 0 || parts[1].Length == 0)
            {
                problems.Add($"--plugin \"{pluginFlags[i]}\": expected type:name[:json parameters]");
                continue;
            }

            if (!registry.TryGet(parts[0], out var registration) || (registration.Kinds & PluginKinds.BodyBasedRouting) == 0)
            {
                problems.Add($"--plugin \"{pluginFlags[i]}\": \"{parts[0]}\" is not a body-based routing plugin type (see runtime plugins)");
                continue;
            }

            JsonElement parameters = default;
            if (parts.Length == 3)
            {
                try
                {
                    parameters = JsonDocument.Parse(parts[2]).RootElement;
                }
                catch (JsonException ex)
                {
                    problems.Add($"--plugin \"{pluginFlags[i]}\": parameters are not valid JSON: {ex.Message}");
                    continue;
                }
            }

            specs.Add(new PluginInstanceSpec(parts[1], parts[0], parameters, $"--plugin[{i}]"));
        }

        if (problems.Count > 0)
        {
            return null;
        }

        if (specs.Count == 0)
        {
            return new BbrChain(BbrPlugins.DefaultChain(metrics, mappings), []);
        }

        var services = new PluginServices { LoggerFactory = loggers }.Add(metrics).Add(mappings);
        var activation = PluginActivator.Activate(registry, specs, services);
        problems.AddRange(activation.Errors.Select(e => $"{e.Path}: {e.Message}"));
        if (problems.Count > 0)
        {
            return null;
        }

        var plugins = specs.Select(s => activation.Plugins[s.Name]).ToList();
        return new BbrChain(plugins.OfType<IBbrRequestProcessor>().ToList(), plugins.OfType<IBbrResponseProcessor>().ToList());
    }
}
