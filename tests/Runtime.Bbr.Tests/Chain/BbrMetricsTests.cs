using System.Buffers;
using System.Text;
using Runtime.Bbr.Processors;
using Runtime.BodyParsing;
using Runtime.ExtProc.Codec;
using Runtime.Plugins;
using Runtime.Telemetry.Prometheus;
using Xunit;

namespace Runtime.Bbr.Tests.Chain;

/// <summary>GIE v1.5.0's <c>bbr_*</c> families: names, <c>field</c> and plugin labels, help, and the empty-model case.</summary>
public sealed class BbrMetricsTests : IDisposable
{
    private readonly BbrMetrics _metrics = new();
    private readonly PrometheusExporter _exporter;

    public BbrMetricsTests()
    {
        _exporter = new PrometheusExporter(new PrometheusExporterOptions { MeterFilter = m => ReferenceEquals(m, _metrics.Meter) });
    }

    public void Dispose()
    {
        _exporter.Dispose();
        _metrics.Dispose();
    }

    private static (BbrRequest Request, bool Ok) Run(BbrChain chain, string body)
    {
        var request = new BbrRequest(chain);
        Assert.Equal(JsonBodyStatus.Ok, request.Scanner.Scan(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(body))));
        request.Begin(new HeaderList());
        var ok = chain.RequestProcessors.All(p => p.ProcessRequest(request));
        return (request, ok);
    }

    [Theory]
    [InlineData("model")]
    [InlineData("user")]
    public void EmptyField_SetsNoHeaderAndCountsEmpty(string field)
    {
        var chain = new BbrChain([new BodyFieldToHeaderProcessor("m", field, "X-Routed", _metrics)], []);

        var (request, ok) = Run(chain, $$"""{"{{field}}":"","messages":[]}""");

        Assert.True(ok);
        Assert.Equal(0, request.SetHeaderCount);
        Assert.Equal(1, _metrics.FieldEmpty);
        Assert.Equal(0, _metrics.Success);
        Assert.Contains($"bbr_body_field_empty_total{{field=\"{field}\"}} 1\n", _exporter.Render(), StringComparison.Ordinal);
    }

    [Fact]
    public void MissingAndPresentFields_CountNotFoundWithFieldAndSuccess()
    {
        var chain = new BbrChain([new BodyFieldToHeaderProcessor("m", metrics: _metrics)], []);

        Run(chain, """{"prompt":"hi"}""");
        var (request, _) = Run(chain, """{"model":"llama","prompt":"hi"}""");
        var page = _exporter.Render();

        Assert.Equal(1, request.SetHeaderCount);
        Assert.Contains("# HELP bbr_body_field_not_found_total [ALPHA] Count of times a field wasn't found in a request body.\n", page, StringComparison.Ordinal);
        Assert.Contains("bbr_body_field_not_found_total{field=\"model\"} 1\n", page, StringComparison.Ordinal);
        Assert.Contains("# HELP bbr_success_total [ALPHA] Count of time the request was processed successfully.\n", page, StringComparison.Ordinal);
        Assert.Contains("bbr_success_total 1\n", page, StringComparison.Ordinal);
    }

    [Fact]
    public void PluginDuration_IsLabelledWithExtensionPointTypeAndName()
    {
        _metrics.RecordPluginDuration(BbrMetrics.RequestExtensionPoint, new FakePlugin(), 0.00015);
        var page = _exporter.Render();

        Assert.Contains("bbr_plugin_duration_seconds_bucket{extension_point=\"request\",plugin_name=\"my-router\",plugin_type=\"body-field-to-header\",le=\"0.0002\"} 1\n", page, StringComparison.Ordinal);
        Assert.Contains("bbr_plugin_duration_seconds_bucket{extension_point=\"request\",plugin_name=\"my-router\",plugin_type=\"body-field-to-header\",le=\"0.1\"} 1\n", page, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_OnlyOncePublished()
    {
        Assert.DoesNotContain("bbr_info", _exporter.Render(), StringComparison.Ordinal);

        _metrics.PublishInfo();
        _metrics.PublishInfo();
        var page = _exporter.Render();

        Assert.Contains("# HELP bbr_info [ALPHA] General information of the current build of BBR.\n", page, StringComparison.Ordinal);
        Assert.Single(page.Split('\n'), l => l.StartsWith("bbr_info{", StringComparison.Ordinal));
        Assert.Matches("bbr_info\\{build_ref=\"[^\"]*\",commit=\"[^\"]*\"\\} 1\n", page);
    }

    private sealed class FakePlugin : IPlugin
    {
        public string TypeName => "body-field-to-header";

        public string Name => "my-router";
    }
}
