using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Runtime.ExtProc.Stream;
using Runtime.Telemetry.Labels;

namespace Runtime.Host.Serve;

/// <summary>What <c>OTEL_*</c> asks of tracing, read as the Go binaries read it (pkg/common/observability/tracing).</summary>
/// <param name="ServiceName"><c>OTEL_SERVICE_NAME</c>, else the binary's default.</param>
/// <param name="Console">Print spans to stdout (<c>OTEL_TRACES_EXPORTER</c> unset or <c>console</c>, Go's default).</param>
/// <param name="Otlp">Send spans to an OTLP collector (<c>OTEL_TRACES_EXPORTER=otlp</c>, what the charts set).</param>
/// <param name="SamplerName">The sampler in effect, as <c>OTEL_TRACES_SAMPLER</c> spells it.</param>
/// <param name="Warnings">Values that were not understood, and what was used instead.</param>
internal sealed record TracingSettings(string ServiceName, bool Console, bool Otlp, TraceSampling Sampling, string SamplerName, IReadOnlyList<string> Warnings)
{
    private const string DefaultSampler = "parentbased_traceidratio";
    private const double DefaultRatio = 0.1;

    /// <summary>Where OTLP spans go: the OpenTelemetry SDK's reading of <c>OTEL_EXPORTER_OTLP_*</c>, for the start-up line.</summary>
    public string OtlpEndpoint { get; init; } = "http://localhost:4317";

    public bool ExportsAnything => Console || Otlp;

    public static TracingSettings FromEnvironment(string defaultServiceName, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var warnings = new List<string>();
        var serviceName = environment("OTEL_SERVICE_NAME") is { Length: > 0 } name ? name : defaultServiceName;

        // Go's default is the console; only "otlp" selects the collector. "none" (standard) exports nothing.
        bool console = false, otlp = false, none = false;
        foreach (var exporter in (environment("OTEL_TRACES_EXPORTER") ?? "console").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            switch (exporter.ToLowerInvariant())
            {
                case "otlp":
                    otlp = true;
                    break;
                case "console":
                    console = true;
                    break;
                case "none":
                    none = true;
                    break;
                default:
                    warnings.Add($"OTEL_TRACES_EXPORTER: unsupported exporter \"{exporter}\" (otlp, console or none); printing spans to the console as the Go binaries do");
                    console = true;
                    break;
            }
        }

        // The SDK's own off switch: it would not listen, so no span would be made.
        if (none || string.Equals(environment("OTEL_SDK_DISABLED"), "true", StringComparison.OrdinalIgnoreCase))
        {
            console = otlp = false;
        }
        else if (!console && !otlp)
        {
            console = true;
        }

        var samplerName = environment("OTEL_TRACES_SAMPLER") is { Length: > 0 } sampler ? sampler.ToLowerInvariant() : DefaultSampler;
        var ratio = DefaultRatio;
        if (samplerName is "parentbased_traceidratio" or "traceidratio" && environment("OTEL_TRACES_SAMPLER_ARG") is { } argument)
        {
            if (double.TryParse(argument, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && double.IsFinite(parsed))
            {
                ratio = Math.Clamp(parsed, 0, 1);
            }
            else
            {
                warnings.Add($"OTEL_TRACES_SAMPLER_ARG: \"{argument}\" is not a ratio; using {DefaultRatio.ToString(CultureInfo.InvariantCulture)}");
            }
        }

        TraceSampling sampling;
        switch (samplerName)
        {
            case "parentbased_traceidratio":
                sampling = new(ParentBased: true, ratio);
                break;
            case "traceidratio":
                sampling = new(ParentBased: false, ratio);
                break;
            case "always_on":
                sampling = new(ParentBased: false, 1);
                break;
            case "always_off":
                sampling = new(ParentBased: false, 0);
                break;
            case "parentbased_always_on":
                sampling = new(ParentBased: true, 1);
                break;
            case "parentbased_always_off":
                sampling = new(ParentBased: true, 0);
                break;
            default:
                // Go's words and fallback.
                warnings.Add($"unsupported sampler type: {samplerName}, fallback to parentbased_traceidratio with 0.1 Ratio");
                sampling = new(ParentBased: true, DefaultRatio);
                samplerName = DefaultSampler;
                break;
        }

        // As the SDK resolves it: the signal's own endpoint as is, the common one (OTLP/HTTP appends the path), else the protocol's default.
        var http = (environment("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ?? environment("OTEL_EXPORTER_OTLP_PROTOCOL")) == "http/protobuf";
        return new TracingSettings(serviceName, console, otlp, sampling, samplerName, warnings)
        {
            OtlpEndpoint = environment("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") is { Length: > 0 } traces ? traces
                : environment("OTEL_EXPORTER_OTLP_ENDPOINT") is { Length: > 0 } endpoint ? (http ? endpoint.TrimEnd('/') + "/v1/traces" : endpoint)
                : http ? "http://localhost:4318/v1/traces" : "http://localhost:4317",
        };
    }
}

/// <summary>
/// <c>--tracing</c>: OpenTelemetry spans per ext_proc request (<c>gateway.request</c>), under the
/// instrumentation scopes of GIE v1.5.0 (<c>gateway-api-inference-extension/epp/extproc</c>,
/// <c>…/bbr/extproc</c>), exported in batches as <see cref="TracingSettings"/> says. Disposing
/// flushes what is queued.
/// </summary>
internal sealed partial class RuntimeTracing : IDisposable
{
    /// <summary>Go's default service names (<c>OTEL_SERVICE_NAME</c> wins).</summary>
    public const string EndpointPickerService = "gateway-api-inference-extension/epp";

    public const string BodyRouterService = "gateway-api-inference-extension/bbr";

    public const string EndpointPickerScope = "gateway-api-inference-extension/epp/extproc";

    public const string BodyRouterScope = "gateway-api-inference-extension/bbr/extproc";

    private readonly TracerProvider _provider;
    private readonly ActivitySource _endpointPickerSource;
    private readonly ActivitySource _bodyRouterSource;

    private RuntimeTracing(TracingSettings settings, TracerProvider provider, ActivitySource endpointPicker, ActivitySource bodyRouter)
    {
        _provider = provider;
        _endpointPickerSource = endpointPicker;
        _bodyRouterSource = bodyRouter;
        Settings = settings;

        // The picker hands its span to the model server (traceparent on the routed request), as Go's does.
        EndpointPicker = new ExtProcTracing(endpointPicker, settings.Sampling, propagateUpstream: true);
        BodyRouter = new ExtProcTracing(bodyRouter, settings.Sampling, propagateUpstream: false);
    }

    public TracingSettings Settings { get; }

    public ExtProcTracing EndpointPicker { get; }

    public ExtProcTracing BodyRouter { get; }

    /// <summary>Starts tracing from the process environment; null (after saying why) when nothing would be exported.</summary>
    public static RuntimeTracing? Start(string defaultServiceName, ILogger logger)
    {
        var settings = TracingSettings.FromEnvironment(defaultServiceName, Environment.GetEnvironmentVariable);
        foreach (var warning in settings.Warnings)
        {
            Log.SettingIgnored(logger, warning);
        }

        if (!settings.ExportsAnything)
        {
            Log.NothingExported(logger);
            return null;
        }

        var resource = ResourceBuilder.CreateEmpty()
            .AddTelemetrySdk()
            .AddEnvironmentVariableDetector()
            .AddService(settings.ServiceName, serviceVersion: BuildInfo.BuildRef, autoGenerateServiceInstanceId: false);

        // Sampling is decided per request before a span exists (ExtProcTracing); what reaches the SDK is kept.
        var builder = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .SetSampler(new AlwaysOnSampler())
            .AddSource(EndpointPickerScope, BodyRouterScope);
        if (settings.Otlp)
        {
            builder.AddOtlpExporter();
        }

        if (settings.Console)
        {
            builder.AddProcessor(new BatchActivityExportProcessor(new ConsoleActivityExporter(new ConsoleExporterOptions())));
        }

        var provider = builder.Build();
        KeyValuePair<string, object?>[] scopeTags = [new("commit-sha", BuildInfo.Commit)];
        var tracing = new RuntimeTracing(
            settings,
            provider,
            new ActivitySource(EndpointPickerScope, BuildInfo.BuildRef, scopeTags),
            new ActivitySource(BodyRouterScope, BuildInfo.BuildRef, scopeTags));
        var destinations = settings is { Otlp: true, Console: true } ? $"the OTLP collector at {settings.OtlpEndpoint} and stdout"
            : settings.Otlp ? $"the OTLP collector at {settings.OtlpEndpoint}"
            : "stdout (OTEL_TRACES_EXPORTER unset or console, as in the Go binaries; set it to otlp for a collector)";
        Log.Tracing(logger, settings.ServiceName, destinations, settings.SamplerName, settings.Sampling.Ratio);
        return tracing;
    }

    public void Dispose()
    {
        _provider.Dispose();
        _endpointPickerSource.Dispose();
        _bodyRouterSource.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(7, LogLevel.Information, "Tracing: spans of service \"{Service}\" go to {Destination}; sampler {Sampler} (ratio {Ratio})")]
        public static partial void Tracing(ILogger logger, string service, string destination, string sampler, double ratio);

        [LoggerMessage(8, LogLevel.Warning, "Tracing: {Warning}")]
        public static partial void SettingIgnored(ILogger logger, string warning);

        [LoggerMessage(9, LogLevel.Information, "Tracing: off (OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true), no spans are made")]
        public static partial void NothingExported(ILogger logger);
    }
}
