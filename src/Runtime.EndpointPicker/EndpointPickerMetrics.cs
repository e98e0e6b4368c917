using System.Diagnostics;
using System.Diagnostics.Metrics;
using Runtime.BodyParsing;
using Runtime.ExtProc.Processing;
using Runtime.Endpoints;
using Runtime.Telemetry.Labels;
using Runtime.Telemetry.Prometheus;

namespace Runtime.EndpointPicker;

/// <summary>The labels every per-request family of the picker draws from (GIE's model labels, llm-d's fairness and priority).</summary>
/// <param name="Priority">The priority as its decimal text (<see cref="MetricLabels.Priority"/>).</param>
internal readonly record struct RequestMetricLabels(string Model, string TargetModel, string FairnessId, string Priority);

/// <summary>What is known when a picked request's stream ends.</summary>
/// <param name="Seconds">From the request's arrival to the end of its response.</param>
/// <param name="FirstTokenSeconds">From the request's arrival to the first response body chunk; negative when none came.</param>
/// <param name="ResponseBytes">Response body bytes seen.</param>
/// <param name="Usage">The response's usage, when it could be read.</param>
/// <param name="Streaming">The model server streamed (<c>text/event-stream</c>).</param>
internal readonly record struct CompletedRequest(double Seconds, double FirstTokenSeconds, long ResponseBytes, TokenUsage? Usage, bool Streaming);

/// <summary>
/// The endpoint picker's per-request instruments under the Go projects' names, labels and buckets
/// (upstream-facts §6): every GIE v1.5.0 <c>inference_objective_*</c> / <c>inference_extension_*</c>
/// family the picker records, and beside each its llm-d v0.10 <c>llm_d_epp_*</c> twin (which adds
/// <c>fairness_id</c> and <c>priority</c>). One call records both, as Go's <c>Record*</c> helpers do.
/// </summary>
/// <remarks>
/// Every method is allocation-free once a label set has been seen: string label values only, tag
/// lists of at most eight (<see cref="TagList"/> keeps them inline), priorities as cached strings
/// (<c>EndpointPickerMetricsBenchmark</c>).
/// </remarks>
internal sealed class EndpointPickerMetrics : IDisposable
{
    public const string MeterName = "Runtime.EndpointPicker";

    private const string Alpha = "[ALPHA] ";

    private readonly Meter _meter = new(MeterName);
    private readonly string _namespace;
    private readonly string _pool;

    // GIE v1.5.0
    private readonly Counter<long> _requests;
    private readonly Counter<long> _errors;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _requestSizes;
    private readonly Histogram<double> _responseSizes;
    private readonly Histogram<double> _inputTokens;
    private readonly Histogram<double> _outputTokens;
    private readonly Histogram<double> _cachedTokens;
    private readonly UpDownCounter<long> _running;
    private readonly Histogram<double> _ntpot;
    private readonly Histogram<double> _schedulerDuration;
    private readonly Counter<long> _schedulerAttempts;
    private readonly Counter<long> _rewriteDecisions;
    private readonly Histogram<double> _fcQueueDuration;
    private readonly Histogram<double> _fcEnqueueDuration;
    private readonly UpDownCounter<long> _fcQueueSize;
    private readonly UpDownCounter<long> _fcQueueBytes;

    // llm-d v0.10
    private readonly Counter<long> _llmdRequests;
    private readonly Counter<long> _llmdErrors;
    private readonly Histogram<double> _llmdDuration;
    private readonly Histogram<double> _llmdRequestSizes;
    private readonly Histogram<double> _llmdResponseSizes;
    private readonly Histogram<double> _llmdInputTokens;
    private readonly Histogram<double> _llmdOutputTokens;
    private readonly Histogram<double> _llmdCachedTokens;
    private readonly UpDownCounter<long> _llmdRunning;
    private readonly Histogram<double> _llmdNtpot;
    private readonly Histogram<double> _llmdTtft;
    private readonly Histogram<double> _llmdStreamingTpot;
    private readonly Histogram<double> _llmdItl;
    private readonly Histogram<double> _llmdSchedulerDuration;
    private readonly Counter<long> _llmdSchedulerAttempts;
    private readonly Histogram<double> _llmdRequestProcessing;
    private readonly Histogram<double> _llmdResponseProcessing;
    private readonly Counter<long> _llmdRewriteDecisions;
    private readonly Histogram<double> _llmdFcQueueDuration;
    private readonly Histogram<double> _llmdFcEnqueueDuration;
    private readonly UpDownCounter<long> _llmdFcQueueSize;
    private readonly UpDownCounter<long> _llmdFcQueueBytes;
    private readonly Counter<long> _llmdFcRequests;

    /// <param name="poolName">The <c>inference_pool</c> label of the flow-control families.</param>
    /// <param name="endpointNamespace">The namespace of the pool's pods (the <c>namespace</c> label of scheduling attempts); empty for static endpoints.</param>
    public EndpointPickerMetrics(string poolName = "", string endpointNamespace = "")
    {
        _pool = poolName ?? string.Empty;
        _namespace = endpointNamespace ?? string.Empty;
        _requests = _meter.CreateCounter<long>("inference_objective_request_total", description: Alpha + "Counter of inference objective requests broken out for each model and target model.");
        _errors = _meter.CreateCounter<long>("inference_objective_request_error_total", description: Alpha + "Counter of inference objective requests errors broken out for each model and target model.");
        _duration = Histogram("inference_objective_request_duration_seconds", "Inference objective response latency distribution in seconds for each model and target model.", HistogramBuckets.RequestSeconds);
        _requestSizes = Histogram("inference_objective_request_sizes", "Inference objective requests size distribution in bytes for each model and target model.", HistogramBuckets.RequestBytes);
        _responseSizes = Histogram("inference_objective_response_sizes", "Inference objective responses size distribution in bytes for each model and target model.", HistogramBuckets.ResponseBytes);
        _inputTokens = Histogram("inference_objective_input_tokens", "Inference objective input token count distribution for requests in each model.", HistogramBuckets.Tokens);
        _outputTokens = Histogram("inference_objective_output_tokens", "Inference objective output token count distribution for requests in each model.", HistogramBuckets.OutputTokens);
        _cachedTokens = Histogram("inference_objective_prompt_cached_tokens", "Inference objective prompt cached token count distribution for requests in each model.", HistogramBuckets.Tokens);
        _running = _meter.CreateUpDownCounter<long>("inference_objective_running_requests", description: Alpha + "Inference objective number of running requests in each model.");
        _ntpot = Histogram("inference_objective_normalized_time_per_output_token_seconds", "Inference objective latency divided by number of output tokens in seconds for each model and target model.", HistogramBuckets.NormalizedTimePerOutputToken);
        _schedulerDuration = Histogram("inference_extension_scheduler_e2e_duration_seconds", "End-to-end scheduling latency distribution in seconds.", HistogramBuckets.SchedulingSeconds);
        _schedulerAttempts = _meter.CreateCounter<long>("inference_extension_scheduler_attempts_total", description: Alpha + "Total number of scheduling attempts.");
        _rewriteDecisions = _meter.CreateCounter<long>("inference_extension_model_rewrite_decisions_total", description: Alpha + "Total number of inference model rewrite decisions.");

        _fcQueueDuration = Histogram("inference_extension_flow_control_request_queue_duration_seconds", "Distribution of total time requests spend in the Flow Control layer (from enqueue to final outcome).", HistogramBuckets.FlowControlQueueSeconds);
        _fcEnqueueDuration = Histogram("inference_extension_flow_control_request_enqueue_duration_seconds", "Distribution of time taken to enqueue requests into the Flow Control layer.", HistogramBuckets.SchedulingSeconds);
        _fcQueueSize = _meter.CreateUpDownCounter<long>("inference_extension_flow_control_queue_size", description: Alpha + "Current number of requests actively held in the Flow Control queue.");
        _fcQueueBytes = _meter.CreateUpDownCounter<long>("inference_extension_flow_control_queue_bytes", description: Alpha + "Current total size in bytes of requests actively held in the Flow Control queue.");

        _llmdRequests = _meter.CreateCounter<long>("llm_d_epp_request_total", description: Alpha + "Total number of processed requests.");
        _llmdErrors = _meter.CreateCounter<long>("llm_d_epp_request_error_total", description: Alpha + "Total number of request errors.");
        _llmdDuration = Histogram("llm_d_epp_request_duration_seconds", "End-to-end request latency distribution in seconds.", HistogramBuckets.RequestSeconds);
        _llmdRequestSizes = Histogram("llm_d_epp_request_size_bytes", "Incoming request body size distribution in bytes.", HistogramBuckets.RequestBytes);
        _llmdResponseSizes = Histogram("llm_d_epp_response_size_bytes", "Outgoing response body size distribution in bytes.", HistogramBuckets.ResponseBytes);
        _llmdInputTokens = Histogram("llm_d_epp_request_input_tokens", "Input token count distribution per request.", HistogramBuckets.Tokens);
        _llmdOutputTokens = Histogram("llm_d_epp_request_output_tokens", "Output token count distribution per request.", HistogramBuckets.OutputTokens);
        _llmdCachedTokens = Histogram("llm_d_epp_request_cached_tokens", "Distribution of prompt tokens read from cache per request, as reported by the model server in the response.", HistogramBuckets.Tokens);
        _llmdRunning = _meter.CreateUpDownCounter<long>("llm_d_epp_request_running", description: Alpha + "Current number of active running requests.");
        _llmdNtpot = Histogram("llm_d_epp_request_ntpot_seconds", "Normalized time per output token in seconds (end-to-end latency divided by output token count).", HistogramBuckets.NormalizedTimePerOutputToken);
        _llmdTtft = Histogram("llm_d_epp_request_ttft_seconds", "Time to first token in seconds, measured from request received to first response byte. For non-streaming requests, this equals total request duration.", HistogramBuckets.TimeToFirstTokenSeconds);
        _llmdStreamingTpot = Histogram("llm_d_epp_request_streaming_tpot_seconds", "Average time per output token in seconds for streaming requests, computed as (e2e - TTFT) / (output_tokens - 1).", HistogramBuckets.StreamingTimePerOutputTokenSeconds);
        _llmdItl = Histogram("llm_d_epp_request_streaming_itl_seconds", "Inter-token latency in seconds for streaming requests, measured as the time between consecutive response body chunks.", HistogramBuckets.InterTokenLatencySeconds);
        _llmdSchedulerDuration = Histogram("llm_d_epp_scheduler_e2e_duration_seconds", "End-to-end scheduling latency distribution in seconds.", HistogramBuckets.SchedulingSeconds);
        _llmdSchedulerAttempts = _meter.CreateCounter<long>("llm_d_epp_scheduler_attempts_total", description: Alpha + "Total number of scheduling attempts.");
        _llmdRequestProcessing = Histogram("llm_d_epp_request_processing_duration_seconds", "EPP request processing latency distribution in seconds, from request receipt until the request body has been handled, including admission control.", HistogramBuckets.RequestProcessingSeconds);
        _llmdResponseProcessing = Histogram("llm_d_epp_response_processing_duration_seconds", "EPP response processing latency distribution in seconds: the sum of per-chunk handler time for a streamed response, or the interval from response headers to completion for a non-streaming response.", HistogramBuckets.ResponseProcessingSeconds);
        _llmdRewriteDecisions = _meter.CreateCounter<long>("llm_d_epp_model_rewrite_decisions_total", description: Alpha + "Total number of inference model rewrite decisions.");

        _llmdFcQueueDuration = Histogram("llm_d_epp_flow_control_request_queue_duration_seconds", "Distribution of total time requests spend in the Flow Control layer (from enqueue to final outcome).", HistogramBuckets.FlowControlQueueSeconds);
        _llmdFcEnqueueDuration = Histogram("llm_d_epp_flow_control_request_enqueue_duration_seconds", "Distribution of time taken to enqueue requests into the Flow Control layer.", HistogramBuckets.SchedulingSeconds);
        _llmdFcQueueSize = _meter.CreateUpDownCounter<long>("llm_d_epp_flow_control_queue_size", description: Alpha + "Current number of requests actively held in the Flow Control queue.");
        _llmdFcQueueBytes = _meter.CreateUpDownCounter<long>("llm_d_epp_flow_control_queue_bytes", description: Alpha + "Current total size in bytes of requests actively held in the Flow Control queue.");
        _llmdFcRequests = _meter.CreateCounter<long>("llm_d_epp_flow_control_requests_total", description: Alpha + "Total number of requests processed by the Flow Control layer.");

        // Build info: a constant 1 whose labels carry the build, as Go's RecordInferenceExtensionInfo sets it.
        _meter.CreateObservableGauge("inference_extension_info", ObserveInfo, description: Alpha + "General information of the current build of Inference Extension.");
        _meter.CreateObservableGauge("llm_d_epp_info", ObserveInfo, description: Alpha + "General information of the current build of Inference Extension.");
    }

    /// <summary>The request was picked for (GIE records the request counter, its size and the running gauge here).</summary>
    public void Picked(in RequestMetricLabels request, long requestBytes)
    {
        _requests.Add(1, Tag("model_name", request.Model), Tag("target_model_name", request.TargetModel), Tag("priority", request.Priority));
        var all = AllLabels(request);
        _llmdRequests.Add(1, all);
        _requestSizes.Record(requestBytes, Tag("model_name", request.Model), Tag("target_model_name", request.TargetModel));
        _llmdRequestSizes.Record(requestBytes, all);
        if (request.Model.Length > 0)
        {
            _running.Add(1, Tag("model_name", request.Model));
            _llmdRunning.Add(1, all);
        }
    }

    /// <summary>The picked request's stream ended: latency, sizes, tokens and the derived per-token times.</summary>
    public void Completed(in RequestMetricLabels request, in CompletedRequest completed)
    {
        var model = Tag("model_name", request.Model);
        var target = Tag("target_model_name", request.TargetModel);
        var all = AllLabels(request);
        if (request.Model.Length > 0)
        {
            _running.Add(-1, model);
            _llmdRunning.Add(-1, all);
        }

        if (completed.Seconds > 0)
        {
            _duration.Record(completed.Seconds, model, target);
            _llmdDuration.Record(completed.Seconds, all);
        }

        _responseSizes.Record(completed.ResponseBytes, model, target);
        _llmdResponseSizes.Record(completed.ResponseBytes, all);

        long outputTokens = 0;
        if (completed.Usage is { } usage)
        {
            outputTokens = usage.CompletionTokens;
            if (usage.PromptTokens > 0)
            {
                _inputTokens.Record(usage.PromptTokens, model, target);
                _llmdInputTokens.Record(usage.PromptTokens, all);
            }

            if (outputTokens > 0)
            {
                _outputTokens.Record(outputTokens, model, target);
                _llmdOutputTokens.Record(outputTokens, all);
            }

            if (usage.HasPromptTokensDetails)
            {
                _cachedTokens.Record(usage.CachedPromptTokens, model, target);
                _llmdCachedTokens.Record(usage.CachedPromptTokens, all);
            }
        }

        if (outputTokens > 0 && completed.Seconds > 0)
        {
            _ntpot.Record(completed.Seconds / outputTokens, model, target);
            _llmdNtpot.Record(completed.Seconds / outputTokens, all);
        }

        if (completed.FirstTokenSeconds > 0)
        {
            var withStreaming = all;
            withStreaming.Add("streaming", MetricLabels.Bool(completed.Streaming));
            _llmdTtft.Record(completed.FirstTokenSeconds, withStreaming);
            if (completed.Streaming && outputTokens > 1 && completed.Seconds > completed.FirstTokenSeconds)
            {
                _llmdStreamingTpot.Record((completed.Seconds - completed.FirstTokenSeconds) / (outputTokens - 1), all);
            }
        }
    }

    /// <summary>The request was answered with an error instead of a pick.</summary>
    public void Error(in RequestMetricLabels request, ImmediateError error)
    {
        var code = ImmediateError.CodeName(error.HttpStatus);
        _errors.Add(1, Tag("model_name", request.Model), Tag("target_model_name", request.TargetModel), Tag("error_code", code));
        var all = AllLabels(request);
        all.Add("error_code", code);
        _llmdErrors.Add(1, all);
    }

    /// <summary>One scheduling run took <paramref name="seconds"/>.</summary>
    public void Scheduled(double seconds)
    {
        _schedulerDuration.Record(seconds);
        _llmdSchedulerDuration.Record(seconds);
    }

    /// <summary>A scheduling attempt: <paramref name="picked"/> is the primary endpoint, or null when it failed.</summary>
    public void SchedulingAttempt(string targetModel, Endpoint? picked)
    {
        var status = picked is null ? "failure" : "success";
        var name = picked?.Name ?? string.Empty;
        var ns = picked is null ? string.Empty : _namespace;
        var port = picked?.PortText ?? string.Empty;
        var gie = new TagList
        {
            { "status", status }, { "target_model_name", targetModel }, { "pod_name", name }, { "namespace", ns }, { "port", port },
        };
        _schedulerAttempts.Add(1, gie);
        var llmd = new TagList
        {
            { "status", status }, { "target_model_name", targetModel }, { "endpoint_name", name }, { "namespace", ns }, { "port", port },
        };
        _llmdSchedulerAttempts.Add(1, llmd);
    }

    /// <summary>An InferenceModelRewrite rule chose <paramref name="targetModel"/> for <paramref name="model"/>.</summary>
    public void ModelRewrite(string rewriteName, string model, string targetModel)
    {
        _rewriteDecisions.Add(1, Tag("model_rewrite_name", rewriteName), Tag("model_name", model), Tag("target_model", targetModel));
        _llmdRewriteDecisions.Add(1, Tag("model_rewrite_name", rewriteName), Tag("model_name", model), Tag("target_model", targetModel));
    }

    /// <summary>Time between two consecutive response body chunks of a streamed response.</summary>
    public void InterTokenLatency(in RequestMetricLabels request, double seconds)
    {
        if (seconds >= 0)
        {
            _llmdItl.Record(seconds, AllLabels(request));
        }
    }

    /// <summary>From the request's arrival until its body was handled (admission included), picked or not.</summary>
    public void RequestProcessed(double seconds) => _llmdRequestProcessing.Record(seconds);

    /// <summary>The picker's own time on the response path of one request.</summary>
    public void ResponseProcessed(double seconds)
    {
        if (seconds > 0)
        {
            _llmdResponseProcessing.Record(seconds);
        }
    }

    /// <summary>
    /// The request entered (<paramref name="delta"/> = 1) or left (-1) flow control: Go counts it in the
    /// queue gauges for the whole of <c>EnqueueAndWait</c>, under its requested priority.
    /// </summary>
    public void FlowControlHeld(in RequestMetricLabels request, long bytes, int delta)
    {
        var labels = FlowLabels(request);
        _fcQueueSize.Add(delta, labels);
        _llmdFcQueueSize.Add(delta, labels);
        _fcQueueBytes.Add(delta * bytes, labels);
        _llmdFcQueueBytes.Add(delta * bytes, labels);
    }

    /// <summary>The synchronous enqueue took <paramref name="seconds"/>; <paramref name="outcome"/> is <c>NotYetFinalized</c> unless it ended there.</summary>
    public void FlowControlEnqueued(in RequestMetricLabels request, string outcome, double seconds)
    {
        var labels = new TagList { { "fairness_id", request.FairnessId }, { "priority", request.Priority }, { "outcome", outcome } };
        _fcEnqueueDuration.Record(seconds, labels);
        _llmdFcEnqueueDuration.Record(seconds, labels);
    }

    /// <summary>The request left flow control with <paramref name="outcome"/> after <paramref name="seconds"/>.</summary>
    public void FlowControlFinished(in RequestMetricLabels request, string outcome, double seconds)
    {
        var labels = new TagList
        {
            { "fairness_id", request.FairnessId }, { "priority", request.Priority }, { "outcome", outcome }, { "inference_pool", _pool },
            { "model_name", request.Model }, { "target_model_name", request.TargetModel },
        };
        _fcQueueDuration.Record(seconds, labels);
        _llmdFcQueueDuration.Record(seconds, labels);
        _llmdFcRequests.Add(1, new KeyValuePair<string, object?>("outcome", outcome), new KeyValuePair<string, object?>("priority", request.Priority), new KeyValuePair<string, object?>("inference_pool", _pool));
    }

    /// <summary>This instance's meter (tests export it alone).</summary>
    internal Meter Meter => _meter;

    public void Dispose() => _meter.Dispose();

    private TagList FlowLabels(in RequestMetricLabels request) => new()
    {
        { "fairness_id", request.FairnessId }, { "priority", request.Priority }, { "inference_pool", _pool },
        { "model_name", request.Model }, { "target_model_name", request.TargetModel },
    };

    private static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);

    private static TagList AllLabels(in RequestMetricLabels request) => new()
    {
        { "model_name", request.Model }, { "target_model_name", request.TargetModel }, { "fairness_id", request.FairnessId }, { "priority", request.Priority },
    };

    private static IEnumerable<Measurement<int>> ObserveInfo() =>
        [new Measurement<int>(1, new KeyValuePair<string, object?>("commit", BuildInfo.Commit), new KeyValuePair<string, object?>("build_ref", BuildInfo.BuildRef))];

    private Histogram<double> Histogram(string name, string help, IReadOnlyList<double> buckets) =>
        _meter.CreateHistogram(name, unit: null, description: Alpha + help, tags: null, advice: HistogramBuckets.Advice(buckets));
}
