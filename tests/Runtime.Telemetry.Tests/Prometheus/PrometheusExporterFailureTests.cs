using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Runtime.Primitives.Diagnostics;
using Runtime.Telemetry.Prometheus;
using Runtime.TestSupport.Logging;
using Runtime.TestSupport.Metrics;

namespace Runtime.Telemetry.Tests.Prometheus;

/// <summary>A scrape callback that throws loses its own samples, and says so in the log and on the page.</summary>
public sealed class PrometheusExporterFailureTests
{
    private static (Meter Meter, PrometheusExporter Exporter, CapturingLoggerProvider Logs) Create()
    {
        var name = "Runtime.Test." + Guid.NewGuid().ToString("N");
        var meter = new Meter(name);
        var logs = new CapturingLoggerProvider();
        var exporter = new PrometheusExporter(new PrometheusExporterOptions { MeterFilter = m => m.Name == name || m.Name == RuntimeMeter.Name }, logs.Logger);
        return (meter, exporter, logs);
    }

    [Fact]
    public void Render_CollectorThrows_LoggedWithItsFamilyAndCountedOnTheSamePage()
    {
        const string series = "runtime_swallowed_errors_total{component=\"metrics\",kind=\"collector\"}";
        var (meter, exporter, logs) = Create();
        using var _ = meter;
        using var __ = exporter;
        var before = PrometheusPage.Value(exporter.Render(), series) ?? 0;
        using var bad = exporter.AddCollector("inference_pool_ready_pods", "Ready pods.", PrometheusMetricType.Gauge, _ => throw new InvalidOperationException("endpoint store disposed"));
        using var good = exporter.AddCollector("good", "Good.", PrometheusMetricType.Gauge, w => w.Add(1));

        var page = exporter.Render();

        Assert.Equal(1, PrometheusPage.Value(page, "good"));
        Assert.DoesNotContain("inference_pool_ready_pods", page, StringComparison.Ordinal);
        // The counter is process-wide: a parallel test may add to it, never take away.
        Assert.InRange(PrometheusPage.Value(page, series) ?? 0, before + 1, double.MaxValue);
        var line = Assert.Single(logs.Entries);
        Assert.Equal(LogLevel.Error, line.Level);
        Assert.Contains("the collector of inference_pool_ready_pods threw", line.Message, StringComparison.Ordinal);
        Assert.Equal("endpoint store disposed", line.Exception?.Message);
    }

    [Fact]
    public void Render_ObservableInstrumentThrows_OthersObservedAndTheFailureLoggedAndCounted()
    {
        const string series = "runtime_swallowed_errors_total{component=\"metrics\",kind=\"observable_instrument\"}";
        var (meter, exporter, logs) = Create();
        using var _ = meter;
        using var __ = exporter;
        var before = PrometheusPage.Value(exporter.Render(), series) ?? 0;
        meter.CreateObservableGauge<long>("broken_gauge", new Func<long>(static () => throw new InvalidOperationException("queue gone")));
        meter.CreateObservableGauge<long>("working_gauge", () => 7);

        var page = exporter.Render();

        Assert.Equal(7, PrometheusPage.Value(page, "working_gauge"));
        // The counter is process-wide: a parallel test may add to it, never take away.
        Assert.InRange(PrometheusPage.Value(page, series) ?? 0, before + 1, double.MaxValue);
        var line = Assert.Single(logs.Entries);
        Assert.Contains("metrics (observable_instrument)", line.Message, StringComparison.Ordinal);
        Assert.Equal("queue gone", line.Exception?.Message);
    }
}
