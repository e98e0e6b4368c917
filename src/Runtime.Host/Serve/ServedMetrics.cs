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
    /// <summary>Registers every family that applies; dispose the result to remove them.</summary>
    public static IDisposable Register(PrometheusExporter exporter, string poolName, EndpointStore store, FlowController? flowControl, Reconciler? reconciler)
    {
        var registrations = new List<IDisposable>();
        registrations.AddRange(RegisterPool(exporter, poolName, store));
        if (flowControl is not null)
        {
            registrations.AddRange(RegisterFlowControl(exporter, flowControl));
        }

        if (reconciler is not null)
        {
            registrations.AddRange(RegisterControlPlane(exporter, reconciler));
        }

        return new Registrations(registrations);
    }

    private static IEnumerable<IDisposable> RegisterPool(PrometheusExporter exporter, string poolName, EndpointStore store)
    {
        // As GIE: averages over every endpoint in the pool, from each one's latest scrape.
        yield return exporter.AddCollector("inference_pool_ready_pods", "The number of ready pods in the inference server pool.", PrometheusMetricType.Gauge,
            w => w.Add("name", poolName, store.Current.Count));
        yield return exporter.AddCollector("inference_pool_average_kv_cache_utilization", "The average kv cache utilization for an inference server pool.", PrometheusMetricType.Gauge,
            w => w.Add("name", poolName, Average(store.Current, static m => m.KvCacheUsage)));
        yield return exporter.AddCollector("inference_pool_average_queue_size", "The average number of requests pending in the model server queue.", PrometheusMetricType.Gauge,
            w => w.Add("name", poolName, Average(store.Current, static m => m.WaitingQueueSize)));
    }

    private static IEnumerable<IDisposable> RegisterFlowControl(PrometheusExporter exporter, FlowController flowControl)
    {
        yield return exporter.AddCollector("inference_extension_flow_control_queue_size", "Requests queued in flow control, by priority band.", PrometheusMetricType.Gauge, w =>
        {
            foreach (var band in flowControl.GetStats().Bands)
            {
                w.Add("priority", band.Priority.ToString(CultureInfo.InvariantCulture), band.QueuedRequests);
            }
        });
        yield return exporter.AddCollector("inference_extension_flow_control_queue_bytes", "Bytes of requests queued in flow control, by priority band.", PrometheusMetricType.Gauge, w =>
        {
            foreach (var band in flowControl.GetStats().Bands)
            {
                w.Add("priority", band.Priority.ToString(CultureInfo.InvariantCulture), band.QueuedBytes);
            }
        });
        yield return exporter.AddCollector("inference_extension_flow_control_pool_saturation", "The saturation flow control last measured (1 = saturated).", PrometheusMetricType.Gauge,
            w => w.Add(flowControl.GetStats().LastSaturation));
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

    private sealed class Registrations(List<IDisposable> registrations) : IDisposable
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
