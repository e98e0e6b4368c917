using System.Diagnostics.Metrics;
using Runtime.Endpoints;
using Runtime.Host.Serve;
using Runtime.Telemetry.Prometheus;
using Xunit;

namespace Runtime.Host.Tests.Serve;

public sealed class ServedMetricsTests
{
    private static PrometheusExporter NoInstruments() => new(new PrometheusExporterOptions { MeterFilter = static (Meter _) => false });

    [Fact]
    public void Register_PoolGauges_AverageTheLatestMetricsOfEveryEndpoint()
    {
        using var exporter = NoInstruments();
        var store = new EndpointStore();
        store.Publish([new Endpoint("a", "10.0.0.1", 8000), new Endpoint("b", "10.0.0.2", 8000), new Endpoint("c", "10.0.0.3", 8000), new Endpoint("d", "10.0.0.4", 8000)]);
        var states = store.Current.Endpoints;
        states[0].PublishMetrics(new EndpointMetrics { KvCacheUsage = 0.5, WaitingQueueSize = 2 });
        states[1].PublishMetrics(new EndpointMetrics { KvCacheUsage = 0.25, WaitingQueueSize = 6 });
        states[2].PublishMetrics(new EndpointMetrics { KvCacheUsage = 0.25, WaitingQueueSize = 0 });

        using var registration = ServedMetrics.Register(exporter, "pool \"x\"", store, flowControl: null, reconciler: null);

        Assert.Equal(
            "# HELP inference_pool_average_kv_cache_utilization The average kv cache utilization for an inference server pool.\n" +
            "# TYPE inference_pool_average_kv_cache_utilization gauge\n" +
            "inference_pool_average_kv_cache_utilization{name=\"pool \\\"x\\\"\"} 0.25\n" +
            "# HELP inference_pool_average_queue_size The average number of requests pending in the model server queue.\n" +
            "# TYPE inference_pool_average_queue_size gauge\n" +
            "inference_pool_average_queue_size{name=\"pool \\\"x\\\"\"} 2\n" +
            "# HELP inference_pool_ready_pods The number of ready pods in the inference server pool.\n" +
            "# TYPE inference_pool_ready_pods gauge\n" +
            "inference_pool_ready_pods{name=\"pool \\\"x\\\"\"} 4\n",
            exporter.Render());
    }

    [Fact]
    public void Register_EmptyPool_ZeroPodsAndZeroAverages()
    {
        using var exporter = NoInstruments();
        using var registration = ServedMetrics.Register(exporter, "static", new EndpointStore(), flowControl: null, reconciler: null);

        var page = exporter.Render();

        Assert.Contains("inference_pool_ready_pods{name=\"static\"} 0\n", page, StringComparison.Ordinal);
        Assert.Contains("inference_pool_average_queue_size{name=\"static\"} 0\n", page, StringComparison.Ordinal);
    }

    [Fact]
    public void Dispose_RemovesTheFamilies()
    {
        using var exporter = NoInstruments();
        var registration = ServedMetrics.Register(exporter, "static", new EndpointStore(), flowControl: null, reconciler: null);

        registration.Dispose();

        Assert.Equal(string.Empty, exporter.Render());
    }
}
