using System.Diagnostics;
using System.Diagnostics.Metrics;
using Grpc.Core;

namespace Runtime.ExtProc.Stream;

/// <summary>
/// llm-d v0.10's opt-in ext_proc stream metrics (<c>--enable-grpc-stream-metrics</c>,
/// pkg/epp/metrics/grpc_stream_metrics.go): streams open now, how long each stayed open, and how
/// many ended with each gRPC status code (Go's names: <c>OK</c>, <c>Canceled</c>, …). Recorded
/// around every <c>Process</c> call of the listeners given this object; allocation-free.
/// </summary>
internal sealed class ExtProcStreamMetrics : IDisposable
{
    /// <summary>The meter's name; the Prometheus exporter exports meters named <c>Runtime.*</c>.</summary>
    public const string MeterName = "Runtime.ExtProc.Streams";

    private const string Alpha = "[ALPHA] ";

    /// <summary>llm-d's buckets, in seconds (1 ms to 10 min).</summary>
    private static readonly double[] s_durationBuckets = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600];

    /// <summary>grpc-go's <c>codes.Code.String()</c>, indexed by code (.NET spells 1 "Cancelled").</summary>
    private static readonly string[] s_codeNames =
    [
        "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists", "PermissionDenied",
        "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
        "Unauthenticated",
    ];

    private readonly Meter _meter = new(MeterName);
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _completed;
    private long _inflight;

    public ExtProcStreamMetrics()
    {
        // Observed at scrape time, so the gauge reads 0 before the first stream, as Go's does.
        _meter.CreateObservableGauge("llm_d_epp_extproc_streams_inflight", () => Volatile.Read(ref _inflight),
            description: Alpha + "Number of ext_proc gRPC streams currently open.");
        _duration = _meter.CreateHistogram(
            "llm_d_epp_extproc_stream_duration_seconds",
            unit: null,
            Alpha + "Duration an ext_proc gRPC stream stays open, in seconds.",
            tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = s_durationBuckets });
        _completed = _meter.CreateCounter<long>("llm_d_epp_extproc_streams_total", description: Alpha + "Total ext_proc gRPC streams completed, by gRPC status code.");
    }

    /// <summary>The meter of these instruments (tests listen to this instance alone).</summary>
    internal Meter Meter => _meter;

    /// <summary>Streams open now.</summary>
    public long Inflight => Volatile.Read(ref _inflight);

    /// <summary>A stream opened; pass the result to <see cref="Finished"/>.</summary>
    public long Started()
    {
        Interlocked.Increment(ref _inflight);
        return Stopwatch.GetTimestamp();
    }

    /// <summary>The stream that <see cref="Started"/> at <paramref name="startedAt"/> ended with <paramref name="code"/>.</summary>
    public void Finished(long startedAt, StatusCode code)
    {
        Interlocked.Decrement(ref _inflight);
        _duration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds);
        _completed.Add(1, new KeyValuePair<string, object?>("code", CodeName(code)));
    }

    /// <summary>The Go name of <paramref name="code"/> (its number for codes gRPC does not define).</summary>
    public static string CodeName(StatusCode code) =>
        (uint)code < (uint)s_codeNames.Length ? s_codeNames[(int)code] : "Code(" + ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture) + ")";

    public void Dispose() => _meter.Dispose();
}
