using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Runtime.BodyParsing;
using Runtime.EndpointPicker.Plugins;
using Runtime.EndpointPicker.Requests;
using Runtime.EndpointPicker.Responses;
using Runtime.Endpoints;
using Runtime.Primitives.Buffers;
using Runtime.ExtProc.Codec;
using Runtime.ExtProc.Processing;
using Runtime.ExtProc.Stream;
using Runtime.Scheduling;
using Runtime.Telemetry.Labels;

namespace Runtime.EndpointPicker;

/// <summary>
/// One request through the endpoint picker: the request side (parse, admit, pick, reply) is in
/// EndpointPickerHandler.Request.cs, the response side (echo, restore the model, usage, metrics)
/// in EndpointPickerHandler.Response.cs. Pooled: <see cref="Reset"/> runs when its stream ends.
/// </summary>
internal sealed partial class EndpointPickerHandler : RequestRoutingHandler, IDisposable
{
    private const int MaxUsageBodyBytes = 1024 * 1024;

    private readonly EndpointPickerProcessor _owner;
    // The processor's context when this request began: a config reload swaps the processor's, and a
    // request in flight finishes on the plugins it started with.
    private EndpointPickerContext _context;
    private readonly InferenceRequestParser _parser = new();
    private readonly JsonBodyRewriter _rewriter = new();
    private readonly SchedulingRequest _request = new();
    private readonly SchedulingResult _result = new();
    private readonly ModelRestorer _restorer = new();
    private readonly SseTail _sseTail = new();
    private readonly TokenUsageReader _usage = new();
    private readonly RequestHeaders _requestHeaders = new();
    private readonly VllmGrpcRequestParser _grpcParser = new();
    private readonly AnthropicRequestParser _anthropicParser = new();
    private readonly VllmHttpRequestParser _vllmHttpParser = new();
    private RequestParsing _parsing;
    private EndpointState[] _candidates = new EndpointState[16];
    private byte[] _destination = new byte[256];
    private byte[] _scores = [];
    private int _destinationLength;
    private byte[]? _rewrittenBody;
    private byte[] _metadata = [];
    private int _metadataLength;
    private EndpointState? _inFlight;
    private long _inFlightTokens;
    private long _receivedAt;
    private RequestMetricLabels _labels = s_noLabels;
    private long _responseHeadersAt;
    private long _firstChunkAt;
    private long _lastChunkAt;
    private long _responseBytes;
    private long _responseHandlerTicks;
    private TokenUsage? _tokenUsage;
    private bool _eventStream;
    private bool _usageTooLarge;

    private static readonly RequestMetricLabels s_noLabels = new(string.Empty, string.Empty, EndpointPickerHeaders.DefaultFairnessId, MetricLabels.Priority(0));

    internal EndpointPickerHandler(EndpointPickerProcessor owner)
    {
        _owner = owner;
        _context = owner.Context;
        _result.RecordScores = _context.EmitEndpointScores;
    }

    public override void OnStreamEnd(ExtProcStream stream, bool aborted) => ReleaseInFlight();

    public override void Reset()
    {
        base.Reset();
        ReleaseInFlight();
        _request.Reset();
        _result.Reset();
        _rewriter.Reset();
        _restorer.Reset();
        _sseTail.Reset();
        Array.Clear(_candidates);
        _labels = s_noLabels;
        _receivedAt = 0;
        _responseHeadersAt = 0;
        _firstChunkAt = 0;
        _lastChunkAt = 0;
        _responseBytes = 0;
        _responseHandlerTicks = 0;
        _tokenUsage = null;
        _eventStream = false;
        _usageTooLarge = false;
        _metadataLength = 0;
        ReturnRewrittenBody();
    }

    /// <summary>The body with the model rewritten goes back once it is sent (or the stream ends).</summary>
    private void ReturnRewrittenBody()
    {
        if (_rewrittenBody is not null)
        {
            PooledBuffers.Return(_rewrittenBody);
            _rewrittenBody = null;
        }
    }

    public void Dispose()
    {
        Reset();
        _rewriter.Dispose();
        _restorer.Dispose();
    }
    private void ReleaseInFlight()
    {
        if (_inFlight is null)
        {
            return;
        }

        _inFlight.RemoveInFlight(_inFlightTokens);
        _inFlight = null;
        var now = Stopwatch.GetTimestamp();
        var seconds = Stopwatch.GetElapsedTime(_receivedAt, now).TotalSeconds;
        // llm-d: TTFT is the first response byte for a streamed response, the whole exchange otherwise.
        var firstToken = _firstChunkAt == 0 ? -1 : _eventStream ? Stopwatch.GetElapsedTime(_receivedAt, _firstChunkAt).TotalSeconds : seconds;
        _context.Metrics.Completed(_labels, new CompletedRequest(seconds, firstToken, _responseBytes, _tokenUsage, _eventStream));
        if (_tokenUsage is { } usage)
        {
            // program-aware-fairness: a program's attained service is what its requests consumed.
            foreach (var program in _context.ProgramFairness)
            {
                program.RecordCompletion(_labels.FairnessId, usage.PromptTokens, usage.CompletionTokens);
            }
        }
        if (_responseHeadersAt != 0)
        {
            _context.Metrics.ResponseProcessed(_eventStream
                ? Stopwatch.GetElapsedTime(0, _responseHandlerTicks).TotalSeconds
                : Stopwatch.GetElapsedTime(_responseHeadersAt, _lastChunkAt == 0 ? now : _lastChunkAt).TotalSeconds);
        }

        // Capacity freed: queued requests may dispatch now.
        _context.Admission.FlowControl?.NotifyCapacityChanged();
    }

private static partial class Log
{
    [LoggerMessage(4201, LogLevel.Debug, "Endpoint picker rejected a request with {Status}: {Reason}")]
    public static partial void Rejected(ILogger logger, int status, string reason);

    [LoggerMessage(4202, LogLevel.Debug, "Picked {Destination} for model {Model} at priority {Priority}")]
    public static partial void Picked(ILogger logger, string destination, string model, int priority);
}
}
