using System.Buffers;
using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Grpc.Core;
using Runtime.Benchmarks.Infrastructure;
using Runtime.ExtProc.Codec;
using Runtime.ExtProc.Stream;
using Runtime.TestSupport.ExtProc;
using Runtime.Telemetry.Prometheus;

namespace Runtime.Benchmarks.ExtProc;

/// <summary>
/// What <c>--tracing</c> and <c>--enable-grpc-stream-metrics</c> cost one ext_proc stream: the
/// request-headers message of a real stream (decode, state machine, pass-through reply, end, reset)
/// with tracing off, with tracing on for a request that is not sampled (its caller's
/// <c>traceparent</c> says so, or no caller trace and ratio 0), and sampled (the span and the
/// traceparent it hands upstream, timing only: the SDK's export queue is not in it); plus the stream metrics' start/finish with the Prometheus exporter
/// listening. Everything but the sampled case must stay at 0 B/op.
/// </summary>
[MemoryDiagnoser]
public class ExtProcTracingBenchmark
{
    private const string Parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-";

    private readonly CountingWriter _writer = new();
    private readonly ExtProcStream _stream = new();
    private readonly ExtProcStreamHandler _handler = new PassThroughProcessor().RentHandler();
    private ActivitySource _source = null!;
    private ActivityListener _listener = null!;
    private long _spansEnded;
    private ExtProcOptions _off = null!;
    private ExtProcOptions _parentBased = null!;
    private ExtProcOptions _ratioZero = null!;
    private ReadOnlySequence<byte> _unsampledHeaders;
    private ReadOnlySequence<byte> _sampledHeaders;
    private ReadOnlySequence<byte> _plainHeaders;
    private ExtProcStreamMetrics _metrics = null!;
    private PrometheusExporter _exporter = null!;

    [GlobalSetup]
    public void Setup()
    {
        // As the OpenTelemetry SDK listens: our source only, everything that reaches it recorded.
        _source = new ActivitySource("Runtime.Benchmarks.Tracing." + Guid.NewGuid().ToString("N"));
        _listener = new ActivityListener
        {
            ShouldListenTo = s => ReferenceEquals(s, _source),
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _ => Interlocked.Increment(ref _spansEnded),
        };
        ActivitySource.AddActivityListener(_listener);
        _off = new ExtProcOptions();
        _parentBased = new ExtProcOptions { Tracing = new ExtProcTracing(_source, new TraceSampling(ParentBased: true, Ratio: 0.1), propagateUpstream: true) };
        _ratioZero = new ExtProcOptions { Tracing = new ExtProcTracing(_source, new TraceSampling(ParentBased: true, Ratio: 0), propagateUpstream: true) };
        _unsampledHeaders = Headers(Parent + "00");
        _sampledHeaders = Headers(Parent + "01");
        _plainHeaders = Headers(null);

        _metrics = new ExtProcStreamMetrics();
        _exporter = new PrometheusExporter(new PrometheusExporterOptions { MeterFilter = m => m.Name == ExtProcStreamMetrics.MeterName });

        // Warm-up: pooled storage sized, the OK series exists, as after the first request.
        HeadersTracingOff();
        HeadersSampled();
        StreamMetricsStartFinish();
        _lastSpans = Interlocked.Read(ref _spansEnded);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _listener.Dispose();
        _source.Dispose();
        _exporter.Dispose();
        _metrics.Dispose();
    }

    [Benchmark(Baseline = true)]
    [AllocationBudget(0, Outcome = nameof(RepliedWithoutSpan))]
    public long HeadersTracingOff() => Run(_off, _unsampledHeaders);

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(RepliedWithoutSpan))]
    public long HeadersUnsampledTraceparent() => Run(_parentBased, _unsampledHeaders);

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(RepliedWithoutSpan))]
    public long HeadersNoTraceRatioZero() => Run(_ratioZero, _plainHeaders);

    /// <summary>Timing only: the span (recorded by a listener, not exported) and the traceparent it hands upstream.</summary>
    [Benchmark]
    public long HeadersSampled() => Run(_parentBased, _sampledHeaders);

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(StreamCounted))]
    public void StreamMetricsStartFinish() => _metrics.Finished(_metrics.Started(), StatusCode.OK);

    private long _lastWrites = -1;
    private long _lastSpans;

    // One more reply was written per call, and no span ended since the last check.
    private bool RepliedWithoutSpan(long writes)
    {
        var spans = Interlocked.Read(ref _spansEnded);
        var ok = writes > _lastWrites && spans == _lastSpans;
        (_lastWrites, _lastSpans) = (writes, spans);
        return ok;
    }

    private bool StreamCounted() => _metrics.Inflight == 0 && _exporter.Render().Contains("llm_d_epp_extproc_streams_total{code=\"OK\"}", StringComparison.Ordinal);

    private long Run(ExtProcOptions options, ReadOnlySequence<byte> headers)
    {
        _stream.Start(_writer, _handler, options, CancellationToken.None);
        var dispatch = _stream.DispatchAsync(headers);
        if (!dispatch.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("the headers phase should complete synchronously");
        }

        dispatch.GetAwaiter().GetResult();
        _stream.End(aborted: false);
        _stream.Reset();
        return _writer.Writes;
    }

    private static ReadOnlySequence<byte> Headers(string? traceParent)
    {
        KeyValuePair<string, string>[] headers = traceParent is null
            ? [.. ExtProcMessages.DefaultRequestHeaders]
            : [.. ExtProcMessages.DefaultRequestHeaders, new("traceparent", traceParent)];
        return new ReadOnlySequence<byte>(ExtProcMessages.FullDuplexRequestHeaders(headers: headers).ToByteArray());
    }

    /// <summary>Takes replies as an HTTP/2 stream with room would: at once, counting them.</summary>
    private sealed class CountingWriter : IServerStreamWriter<ProcessingResponseBuilder>
    {
        public WriteOptions? WriteOptions { get; set; }

        public long Writes { get; private set; }

        public Task WriteAsync(ProcessingResponseBuilder message)
        {
            Writes++;
            return Task.CompletedTask;
        }
    }
}
