using System.Globalization;
using Runtime.ControlPlane.Reconcile;
using Runtime.Endpoints;
using Runtime.FlowControl;
using Runtime.Telemetry.Prometheus;

namespace Runtime.Host.Serve;

/// <summary>
/// The families computed at scrape time from the picker's state, under the Go endpoint picker's
/// names: the <c>inference_pool_*</c> gauges from the endpoint store, flow control's queues, and
/// the control plane's status.
/// </summary>
internal static class ServedMetrics
{
    private const string Alpha = "[ALPHA] ";
    private const string GiePool = "inference_pool_";
    private const string LlmD = "llm_d_epp_";

    private const string LlmDSaturationHelp =
        "Pool saturation signal gating Flow Control dispatch. 1.0 is the gating set point; values above 1.0 "
        + "indicate the magnitude of oversubscription past it. An empty pool reads as 1.0. With the default "
        + "utilization detector, endpoints with missing or stale metrics score as fully saturated "
        + "(fail-closed; see flow_control_stale_endpoints).";

    /// <summary>Registers every family that applies; dispose the result to remove them.</summary>
    public static IDisposable Register(PrometheusExporter exporter, string poolName, EndpointStore store, FlowController? flowControl, Reconciler? reconciler)
    {
        var registrations = new List<IDisposable>();
        registrations.AddRange(RegisterPool(exporter, poolName, store));
        if (flowControl is not null)
        {
            registrations.AddRange(RegisterFlowControl(exporter, poolName, flowControl));
        }

        if (reconciler is not null)
        {
            registrations.AddRange(RegisterControlPlane(exporter, reconciler));
        }

        return new Registrations(registrations);
    }

    private static IEnumerable<IDisposable> RegisterPool(PrometheusExporter exporter, string poolName, EndpointStore store)
    {
        // As GIE: over every endpoint in the pool, from each one's latest scrape. Each GIE family has
        // its llm-d v0.10 twin; llm-d adds the standard deviations.
        foreach (var prefix in new[] { GiePool, LlmD })
        {
            var readyName = prefix == GiePool ? "inference_pool_ready_pods" : "llm_d_epp_ready_endpoints";
            var readyHelp = prefix == GiePool ? "The number of ready pods in the inference server pool." : "The number of ready endpoints in the inference server pool.";
            yield return exporter.AddCollector(readyName, Alpha + readyHelp, PrometheusMetricType.Gauge,
                w => w.Add("name", poolName, store.Current.Count));
            yield return exporter.AddCollector(prefix + "average_kv_cache_utilization", Alpha + "The average kv cache utilization for an inference server pool.", PrometheusMetricType.Gauge,
                w => w.Add("name", poolName, Average(store.Current, static m => m.KvCacheUsage)));
            yield return exporter.AddCollector(prefix + "average_queue_size", Alpha + "The average number of requests pending in the model server queue.", PrometheusMetricType.Gauge,
                w => w.Add("name", poolName, Average(store.Current, static m => m.WaitingQueueSize)));
            yield return exporter.AddCollector(prefix + "average_running_requests", Alpha + "The average number of running requests across model servers in the pool.", PrometheusMetricType.Gauge,
                w => w.Add("name", poolName, Average(store.Current, static m => m.RunningRequests)));
        }

        yield return exporter.AddCollector("llm_d_epp_std_dev_kv_cache_utilization", Alpha + "The standard deviation kv cache utilization for an inference server pool.", PrometheusMetricType.Gauge,
            w => w.Add("name", poolName, StandardDeviation(store.Current, static m => m.KvCacheUsage)));
        yield return exporter.AddCollector("llm_d_epp_std_dev_queue_size", Alpha + "The standard deviation number of requests pending in the model server queue.", PrometheusMetricType.Gauge,
            w => w.Add("name", poolName, StandardDeviation(store.Current, static m => m.WaitingQueueSize)));
        yield return exporter.AddCollector("llm_d_epp_std_dev_running_requests", Alpha + "The standard deviation number of running requests across model servers in the pool.", PrometheusMetricType.Gauge,
            w => w.Add("name", poolName, StandardDeviation(store.Current, static m => m.RunningRequests)));

        // GIE's custom collector: one sample per endpoint, nothing when the pool has none.
        yield return exporter.AddCollector("inference_pool_per_pod_queue_size", Alpha + "The total number of requests pending in the model server queue for each underlying pod.", PrometheusMetricType.Gauge,
            w => PerEndpointQueue(w, poolName, store.Current, "model_server_pod"));
        yield return exporter.AddCollector("llm_d_epp_per_endpoint_queue_size", Alpha + "The total number of requests pending in the model server queue for each underlying endpoint.", PrometheusMetricType.Gauge,
            w => PerEndpointQueue(w, poolName, store.Current, "model_server_endpoint"));
    }

    private static IEnumerable<IDisposable> RegisterFlowControl(PrometheusExporter exporter, string poolName, FlowController flowControl)
    {
        // The queue gauges and durations are recorded per request (EndpointPickerMetrics); saturation is read here.
        yield return exporter.AddCollector("inference_extension_flow_control_pool_saturation", Alpha + "Current saturation level of the inference pool (0.0 = empty, 1.0 = fully saturated).", PrometheusMetricType.Gauge,
            w => w.Add("inference_pool", poolName, flowControl.GetStats().LastSaturation));
        yield return exporter.AddCollector("llm_d_epp_flow_control_pool_saturation", Alpha + LlmDSaturationHelp, PrometheusMetricType.Gauge,
            w => w.Add("inference_pool", poolName, flowControl.GetStats().LastSaturation));

        // Ours: one series per provisioned priority band, so band creation, draining and removal show.
        yield return exporter.AddCollector("runtime_flow_control_band_requests", "Requests queued in each provisioned priority band.", PrometheusMetricType.Gauge, w =>
        {
            foreach (var band in flowControl.GetStats().Bands)
            {
                w.Add("priority", band.Priority.ToString(CultureInfo.InvariantCulture), band.QueuedRequests);
            }
        });
        yield return exporter.AddCollector("runtime_flow_control_band_bytes", "Bytes of requests queued in each provisioned priority band.", PrometheusMetricType.Gauge, w =>
        {
            foreach (var band in flowControl.GetStats().Bands)
            {
                w.Add("priority", band.Priority.ToString(CultureInfo.InvariantCulture), band.QueuedBytes);
            }
        });
    }

    private static IEnumerable<IDisposable> RegisterControlPlane(PrometheusExporter exporter, Reconciler reconciler)
    {
        yield return exporter.AddCollector("runtime_control_plane_reconcile_rounds_total", "Reconcile rounds run.", PrometheusMetricType.Counter,
            w => w.Add(reconciler.Status.Rounds));
        yield return exporter.AddCollector("runtime_control_plane_world_generation", "The world generation last reconciled.", PrometheusMetricType.Gauge,
            w => w.Add(reconciler.Status.ReconciledGeneration));
        yield return exporter.AddCollector("runtime_control_plane_ready", "1 when every source has synced and the pool was found.", PrometheusMetricType.Gauge,
            w => w.Add(reconciler.Status.Ready ? 1 : 0));
        yield return exporter.AddCollector("runtime_control_plane_last_round_error", "1 when the last reconcile round reported an error.", PrometheusMetricType.Gauge,
            w => w.Add(reconciler.Status.LastError is null ? 0 : 1));
        yield return exporter.AddCollector("runtime_control_plane_source_synced", "1 when the source has completed its initial sync.", PrometheusMetricType.Gauge, w =>
        {
            foreach (var (source, state) in reconciler.Status.Sources)
            {
                w.Add("source", source, state.Synced ? 1 : 0);
            }
        });
    }

    private static double Average(EndpointSnapshot snapshot, Func<EndpointMetrics, double> value)
    {
        var endpoints = snapshot.Endpoints;
        if (endpoints.Length == 0)
        {
            return 0;
        }

        double total = 0;
        foreach (var endpoint in endpoints)
        {
            total += value(endpoint.Metrics);
        }

        return total / endpoints.Length;
    }

    private static double StandardDeviation(EndpointSnapshot snapshot, Func<EndpointMetrics, double> value)
    {
        var endpoints = snapshot.Endpoints;
        if (endpoints.Length == 0)
        {
            return 0;
        }

        var mean = Average(snapshot, value);
        double squares = 0;
        foreach (var endpoint in endpoints)
        {
            var d = value(endpoint.Metrics) - mean;
            squares += d * d;
        }

        // As llm-d's datalayer logger: the sample deviation (n - 1, at least 1), rounded to two decimals.
        return Math.Round(Math.Sqrt(squares / Math.Max(1, endpoints.Length - 1)), 2, MidpointRounding.AwayFromZero);
    }

    private static void PerEndpointQueue(PrometheusSampleWriter writer, string poolName, EndpointSnapshot snapshot, string endpointLabel)
    {
        foreach (var endpoint in snapshot.Endpoints)
        {
            writer.Add([new("name", poolName), new(endpointLabel, endpoint.Endpoint.Name)], endpoint.Metrics.WaitingQueueSize);
        }
    }

    /// <summary>Metric families registered together and removed together.</summary>
    internal sealed class Registrations(List<IDisposable> registrations) : IDisposable
    {
        public void Dispose()
        {
            foreach (var registration in registrations)
            {
                registration.Dispose();
            }
        }
    }
}
