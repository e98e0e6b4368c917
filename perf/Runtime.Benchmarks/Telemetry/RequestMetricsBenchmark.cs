using BenchmarkDotNet.Attributes;
using Runtime.Bbr;
using Runtime.BodyParsing;
using Runtime.Benchmarks.Infrastructure;
using Runtime.EndpointPicker;
using Runtime.Endpoints;
using Runtime.Plugins;
using Runtime.Scheduling.Framework;
using Runtime.Telemetry.Labels;
using Runtime.Telemetry.Prometheus;

namespace Runtime.Benchmarks.Telemetry;

/// <summary>
/// Every metric one request records on the hot path, with the exporter listening: the picker's
/// GIE and llm-d families from pick to completion (flow control included, three inter-token
/// latencies of a streamed response), four plugin durations and the prefix lookup, and a BBR
/// plugin duration. Label values are the cached strings the request path passes (model names from
/// the picker's string cache, priority from <see cref="MetricLabels.Priority"/>). Must stay at 0 B/op.
/// </summary>
[MemoryDiagnoser]
public class RequestMetricsBenchmark
{
    private readonly Endpoint _endpoint = new("pod-1-rank-0", "10.0.0.1", 8000);
    private readonly IPlugin _scorer = new Plugin("prefix-cache-scorer");
    private readonly IPlugin _picker = new Plugin("max-score-picker");
    private readonly IPlugin _bbrPlugin = new Plugin("body-field-to-header");
    private PrometheusExporter _exporter = null!;
    private EndpointPickerMetrics _metrics = null!;
    private BbrMetrics _bbr = null!;
    private RequestMetricLabels _labels;
    private double _lastCount;

    [GlobalSetup]
    public void Setup()
    {
        _exporter = new PrometheusExporter();
        _metrics = new EndpointPickerMetrics("pool", "default");
        _bbr = new BbrMetrics();
        _labels = new RequestMetricLabels("my-alias", "meta-llama/Llama-3.1-8B-Instruct", "tenant-a", MetricLabels.Priority(5));

        // Warm-up: every series exists, as after the first request of its kind.
        RecordRequest();
        _ = _exporter.Render();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _bbr.Dispose();
        _metrics.Dispose();
        _exporter.Dispose();
    }

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(Counted))]
    public void RecordRequest()
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        _bbr.RecordPluginDuration(BbrMetrics.RequestExtensionPoint, _bbrPlugin, 0.00002);
        _metrics.ModelRewrite("canary", _labels.Model, _labels.TargetModel);
        _metrics.FlowControlHeld(_labels, 2048, 1);
        _metrics.FlowControlEnqueued(_labels, "NotYetFinalized", 0.00001);
        _metrics.FlowControlHeld(_labels, 2048, -1);
        _metrics.FlowControlFinished(_labels, "Dispatched", 0.003);
        SchedulingMetrics.PluginRan(SchedulingMetrics.Scorer, _scorer, started);
        SchedulingMetrics.PrefixMatched(_scorer, 640, 2048);
        SchedulingMetrics.PluginRan(SchedulingMetrics.Picker, _picker, started);
        SchedulingMetrics.PluginRan(SchedulingMetrics.PreRequest, _scorer, started);
        SchedulingMetrics.PrefixIndexSize(_scorer, 4096);
        _metrics.Scheduled(0.0001);
        _metrics.SchedulingAttempt(_labels.TargetModel, _endpoint);
        _metrics.Picked(_labels, 2048);
        _metrics.RequestProcessed(0.0004);
        for (var i = 0; i < 3; i++)
        {
            _metrics.InterTokenLatency(_labels, 0.02);
        }

        _metrics.Completed(_labels, new CompletedRequest(1.2, 0.2, 4096, new TokenUsage(512, 64, 128, HasPromptTokensDetails: true), Streaming: true));
        _metrics.ResponseProcessed(0.0003);
    }

    // The request counter on the exporter's page grew since the last check.
    private bool Counted()
    {
        const string series = "inference_objective_request_total{";
        var line = _exporter.Render().Split('\n').FirstOrDefault(l => l.StartsWith(series, StringComparison.Ordinal)) ?? "";
        if (!double.TryParse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var value) || value <= _lastCount)
        {
            return false;
        }

        _lastCount = value;
        return true;
    }

    private sealed class Plugin(string type) : IPlugin
    {
        public string TypeName => type;

        public string Name => type;
    }
}
