namespace Runtime.Telemetry.Prometheus;

/// <summary>The <c># TYPE</c> of a metric family.</summary>
internal enum PrometheusMetricType
{
    Counter,
    Gauge,
    Histogram,
}
