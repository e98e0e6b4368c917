namespace Runtime.Telemetry.Prometheus;

/// <summary>The <c># TYPE</c> of a metric family.</summary>
public enum PrometheusMetricType
{
    Counter,
    Gauge,
    Histogram,
}
