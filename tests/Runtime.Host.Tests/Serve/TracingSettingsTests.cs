using Runtime.Host.Bbr;
using Runtime.Host.Serve;
using Xunit;

namespace Runtime.Host.Tests.Serve;

/// <summary>
/// How <c>--tracing</c>, <c>--enable-grpc-stream-metrics</c> and the <c>OTEL_*</c> variables are
/// read: Go's defaults and fallbacks (pkg/common/observability/tracing@v1.5.0), the standard
/// sampler and exporter names besides, and a warning for every value not understood.
/// </summary>
public sealed class TracingSettingsTests
{
    [Fact]
    public void Flags_DefaultsAreGos_AndTheChartsFalseTurnsTracingOff()
    {
        Assert.True(ServeCommand.TryParse([], out var defaults, out _, out _));
        Assert.True(defaults.Tracing);
        Assert.False(defaults.GrpcStreamMetrics);

        Assert.True(ServeCommand.TryParse(["--tracing=false", "--enable-grpc-stream-metrics"], out var set, out var errors, out _), string.Join("; ", errors));
        Assert.False(set.Tracing);
        Assert.True(set.GrpcStreamMetrics);
        Assert.DoesNotContain(set.FlagNotes, n => n.Contains("tracing", StringComparison.Ordinal) || n.Contains("stream-metrics", StringComparison.Ordinal));

        Assert.True(BbrCommand.TryParse(["--tracing=false"], out var bbr, out _, out _));
        Assert.False(bbr.Options.Tracing);
        Assert.True(BbrCommand.TryParse([], out var bbrDefaults, out _, out _));
        Assert.True(bbrDefaults.Options.Tracing);
    }

    [Fact]
    public void NoVariables_GosDefaults_ConsoleParentBasedTenth()
    {
        var settings = Read([]);

        Assert.Equal("gateway-api-inference-extension/epp", settings.ServiceName);
        Assert.True(settings.Console);
        Assert.False(settings.Otlp);
        Assert.Equal(new(ParentBased: true, Ratio: 0.1), settings.Sampling);
        Assert.Equal("parentbased_traceidratio", settings.SamplerName);
        Assert.Equal("http://localhost:4317", settings.OtlpEndpoint);
        Assert.Empty(settings.Warnings);
    }

    [Fact]
    public void ChartVariables_OtlpToTheirCollectorUnderTheirName()
    {
        var settings = Read(new()
        {
            ["OTEL_SERVICE_NAME"] = "gateway-api-inference-extension/epp",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://otel-collector:4317",
            ["OTEL_TRACES_EXPORTER"] = "otlp",
            ["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio",
            ["OTEL_TRACES_SAMPLER_ARG"] = "0.25",
        });

        Assert.False(settings.Console);
        Assert.True(settings.Otlp);
        Assert.Equal(new(ParentBased: true, Ratio: 0.25), settings.Sampling);
        Assert.Equal("http://otel-collector:4317", settings.OtlpEndpoint);
        Assert.Empty(settings.Warnings);
    }

    [Theory]
    [InlineData("always_on", false, 1.0)]
    [InlineData("always_off", false, 0.0)]
    [InlineData("traceidratio", false, 0.5)]
    [InlineData("parentbased_always_on", true, 1.0)]
    [InlineData("parentbased_always_off", true, 0.0)]
    [InlineData("PARENTBASED_TRACEIDRATIO", true, 0.5)]
    public void StandardSamplers_Understood(string sampler, bool parentBased, double ratio)
    {
        var settings = Read(new() { ["OTEL_TRACES_SAMPLER"] = sampler, ["OTEL_TRACES_SAMPLER_ARG"] = "0.5" });

        Assert.Equal(new(parentBased, ratio), settings.Sampling);
        Assert.Empty(settings.Warnings);
    }

    [Fact]
    public void UnknownSampler_GosWarningAndFallback()
    {
        var settings = Read(new() { ["OTEL_TRACES_SAMPLER"] = "jaeger_remote", ["OTEL_TRACES_SAMPLER_ARG"] = "1" });

        Assert.Equal(new(ParentBased: true, Ratio: 0.1), settings.Sampling);
        Assert.Equal("unsupported sampler type: jaeger_remote, fallback to parentbased_traceidratio with 0.1 Ratio", Assert.Single(settings.Warnings));
    }

    [Theory]
    [InlineData("lots")]
    [InlineData("NaN")]
    [InlineData("")]
    public void BadRatio_WarnedAndTenth(string argument)
    {
        var settings = Read(new() { ["OTEL_TRACES_SAMPLER_ARG"] = argument });

        Assert.Equal(0.1, settings.Sampling.Ratio);
        Assert.Contains($"\"{argument}\" is not a ratio", Assert.Single(settings.Warnings), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2", 1.0)]
    [InlineData("-1", 0.0)]
    public void RatioOutOfRange_MeansAllOrNothing(string argument, double ratio) =>
        Assert.Equal(ratio, Read(new() { ["OTEL_TRACES_SAMPLER_ARG"] = argument }).Sampling.Ratio);

    [Theory]
    [InlineData("otlp,console", true, true, 0)]
    [InlineData("console", true, false, 0)]
    [InlineData("zipkin", true, false, 1)]
    [InlineData("none", false, false, 0)]
    [InlineData("otlp,none", false, false, 0)]
    public void Exporters(string value, bool console, bool otlp, int warnings)
    {
        var settings = Read(new() { ["OTEL_TRACES_EXPORTER"] = value });

        Assert.Equal((console, otlp, warnings), (settings.Console, settings.Otlp, settings.Warnings.Count));
        Assert.Equal(console || otlp, settings.ExportsAnything);
    }

    [Fact]
    public void SdkDisabled_ExportsNothing() =>
        Assert.False(Read(new() { ["OTEL_TRACES_EXPORTER"] = "otlp", ["OTEL_SDK_DISABLED"] = "true" }).ExportsAnything);

    [Theory]
    [InlineData(null, null, null, "http://localhost:4317")]
    [InlineData("http/protobuf", null, null, "http://localhost:4318/v1/traces")]
    [InlineData("http/protobuf", "http://collector:4318/", null, "http://collector:4318/v1/traces")]
    [InlineData("grpc", "http://collector:4317", "http://traces:4317", "http://traces:4317")]
    public void OtlpEndpoint_AsTheSdkResolvesIt(string? protocol, string? endpoint, string? tracesEndpoint, string expected)
    {
        var settings = Read(new()
        {
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol,
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
            ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = tracesEndpoint,
        });

        Assert.Equal(expected, settings.OtlpEndpoint);
    }

    private static TracingSettings Read(Dictionary<string, string?> environment) =>
        TracingSettings.FromEnvironment(RuntimeTracing.EndpointPickerService, name => environment.GetValueOrDefault(name));
}
