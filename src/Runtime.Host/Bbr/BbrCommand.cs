using System.Text.Json;
using Microsoft.Extensions.Logging;
using Runtime.Bbr;
using Runtime.Bbr.Mappings;
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
/// or an EndpointPickerConfig's body-based routing plugins (<c>--config-file</c>).
/// </summary>
internal static class BbrCommand
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var options = new ServeOptions { GrpcPort = 9004, GrpcHealthPort = 9005 };
        var grpc = options.Grpc;
        var streaming = false;
        var pluginFlags = new List<string>();
        string? mappingsDir = null, configFile = null, configText = null;
        var flags = new FlagSet();
        flags.Int("grpc-port", options.GrpcPort, "The gRPC port used for communicating with Envoy proxy", v => options = options with { GrpcPort = v });
        flags.Int("grpc-health-port", options.GrpcHealthPort, "The port used for gRPC liveness and readiness probes", v => options = options with { GrpcHealthPort = v });
        flags.Int("metrics-port", options.MetricsPort, "The port serving Prometheus metrics on /metrics (0 = off)", v => options = options with { MetricsPort = v });
        flags.Bool("secure-serving", options.SecureServing, "Enables secure serving (TLS) of the ext_proc port", v => options = options with { SecureServing = v });
        flags.String("cert-path", string.Empty, "Directory holding tls.crt and tls.key", v => options = options with { CertPath = v });
        flags.String("bind-address", string.Empty, "IP address to listen on (default: all interfaces)", v => options = options with { BindAddress = string.IsNullOrEmpty(v) ? null : System.Net.IPAddress.Parse(v) });
        flags.Int("v", options.Verbosity, "Log verbosity", v => options = options with { Verbosity = v });
        flags.Bool("streaming", false, "FULL_DUPLEX_STREAMED when Envoy sends no protocol_config (else BUFFERED)", v => streaming = v);
        flags.Repeated("plugin", "A request processor as type:name[:json parameters]; repeat in chain order (default: body-field-to-header, base-model-to-header)", pluginFlags);
        flags.String("base-model-mappings-dir", string.Empty, "Directory of bbr-managed ConfigMap YAML files mapping LoRA adapters to base models (reloaded on change)", v => mappingsDir = v);
        flags.String("config-file", string.Empty, "EndpointPickerConfig whose body-based routing plugins form the chain", v => configFile = v);
        flags.String("config-text", string.Empty, "The same, inline", v => configText = v);
        flags.Duration("shutdown-grace-period", grpc.ShutdownGracePeriod, "How long open streams may finish after SIGTERM", v => grpc = grpc with { ShutdownGracePeriod = v });
        if (!flags.Parse(args))
        {
            foreach (var error in flags.Errors)
            {
                await Console.Error.WriteLineAsync(error).ConfigureAwait(false);
            }

            await Console.Error.WriteLineAsync("Usage of runtime bbr:\n" + flags.Usage()).ConfigureAwait(false);
            return 2;
        }

        var mode = streaming ? BodySendMode.FullDuplexStreamed : BodySendMode.Buffered;
        options = options with { Grpc = grpc, DefaultRequestBodyMode = mode, DefaultResponseBodyMode = mode };

        using var loggers = LoggerFactory.Create(logging => logging.AddSimpleConsole(c => c.SingleLine = true));
        using var exporter = options.MetricsPort > 0 ? new PrometheusExporter() : null;
        using var metrics = new BbrMetrics();
        using var mappings = string.IsNullOrEmpty(mappingsDir)
            ? new BaseModelMappingSource(BaseModelMappings.Empty)
            : new BaseModelMappingSource(mappingsDir, TimeSpan.FromSeconds(2), loggers.CreateLogger<BaseModelMappingSource>());
        if (mappings.LastErrors.Count > 0)
        {
            foreach (var error in mappings.LastErrors)
            {
                await Console.Error.WriteLineAsync(error).ConfigureAwait(false);
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

        var processor = new BbrExtProcProcessor(chain, metrics, loggers.CreateLogger<BbrExtProcProcessor>());
        RuntimeServer server;
        try
        {
            server = RuntimeServer.Create(options, processor, exporter);
        }
        catch (InvalidOperationException ex)
        {
            await Console.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return 1;
        }

        await using (server.ConfigureAwait(false))
        {
            await server.RunAsync().ConfigureAwait(false);
        }

        return 0;
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
            var config = new EndpointPickerConfigLoader(registry).LoadFromFlags(configFile, configText);
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
