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
        var page = exporter.Render();

        const string pool = "name=\"pool \\\"x\\\"\"";
        Assert.Contains(
            "# HELP inference_pool_average_kv_cache_utilization [ALPHA] The average kv cache utilization for an inference server pool.\n" +
            "# TYPE inference_pool_average_kv_cache_utilization gauge\n" +
            $"inference_pool_average_kv_cache_utilization{{{pool}}} 0.25\n",
            page,
            StringComparison.Ordinal);
        Assert.Contains($"inference_pool_average_queue_size{{{pool}}} 2\n", page, StringComparison.Ordinal);
        Assert.Contains($"inference_pool_average_running_requests{{{pool}}} 0\n", page, StringComparison.Ordinal);
        Assert.Contains("# HELP inference_pool_ready_pods [ALPHA] The number of ready pods in the inference server pool.\n", page, StringComparison.Ordinal);
        Assert.Contains($"inference_pool_ready_pods{{{pool}}} 4\n", page, StringComparison.Ordinal);
        Assert.Contains($"inference_pool_per_pod_queue_size{{model_server_pod=\"b\",{pool}}} 6\n", page, StringComparison.Ordinal);
        Assert.Contains($"inference_pool_per_pod_queue_size{{model_server_pod=\"d\",{pool}}} 0\n", page, StringComparison.Ordinal);
        Assert.Contains($"llm_d_epp_per_endpoint_queue_size{{model_server_endpoint=\"a\",{pool}}} 2\n", page, StringComparison.Ordinal);
        Assert.Contains($"llm_d_epp_ready_endpoints{{{pool}}} 4\n", page, StringComparison.Ordinal);
        Assert.Contains($"llm_d_epp_average_queue_size{{{pool}}} 2\n", page, StringComparison.Ordinal);

        // Sample deviation of 2, 6, 0, 0 (mean 2): sqrt(24 / 3) = 2.83 after llm-d's rounding.
        Assert.Contains($"llm_d_epp_std_dev_queue_size{{{pool}}} 2.83\n", page, StringComparison.Ordinal);
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
