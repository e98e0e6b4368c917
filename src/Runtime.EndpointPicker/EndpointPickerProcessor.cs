using System.Buffers;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.ObjectPool;
using Runtime.BodyParsing;
using Runtime.EndpointPicker.Admission;
using Runtime.EndpointPicker.Plugins;
using Runtime.EndpointPicker.Requests;
using Runtime.EndpointPicker.Responses;
using Runtime.Endpoints;
using Runtime.ExtProc.Buffers;
using Runtime.ExtProc.Codec;
using Runtime.ExtProc.Stream;
using Runtime.Scheduling;
using Runtime.Telemetry.Labels;

namespace Runtime.EndpointPicker;

/// <summary>What the endpoint picker works with; everything here is shared by all streams and thread-safe.</summary>
public sealed record EndpointPickerContext(
    EndpointStore Endpoints,
    IScheduler Scheduler,
    RequestAdmission Admission,
    ObjectivePriorities Objectives,
    ModelRewriteRules Rewrites,
    EndpointPickerMetrics Metrics,
    ILogger Logger)
{
    /// <summary>
    /// Endpoints whose last scrape is older than this are left out while any endpoint is fresh: a
    /// dead server's last metrics would otherwise look good forever. When all are stale (startup,
    /// or the scraper cannot reach anyone) all stay candidates.
    /// </summary>
    public TimeSpan StalenessThreshold { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Ignore the gateway's subset hint (<c>--disable-endpoint-subset-filter</c>).</summary>
    public bool DisableSubsetFilter { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>How request bodies are read: the configured parser plugin.</summary>
    public RequestParsing Parsing { get; init; } = RequestParsing.OpenAI;

    /// <summary>A <c>destination-endpoint-served-verifier</c> is configured: echo the served endpoint in a response header.</summary>
    public bool VerifyServedEndpoint { get; init; }

    /// <summary>Configured <c>request-attribute-reporter</c> plugins, run when the response ends.</summary>
    public IReadOnlyList<RequestAttributeReporter> Reporters { get; init; } = [];
}

/// <summary>
/// The Endpoint Picker Protocol over ext_proc (SPEC §2). For each request:
/// <list type="number">
/// <item>parse the body (model, prompt, stream, cache_salt; API by path) — the pick needs the model,
/// so in FULL_DUPLEX_STREAMED the headers reply waits for the body's end;</item>
/// <item>objective header → priority; model rewrite (header override, then rules);</item>
/// <item>admission: flow control, or the legacy shed rule;</item>
/// <item>schedule over the current snapshot, narrowed to the gateway's subset hint;</item>
/// <item>reply: <c>x-gateway-destination-endpoint</c> and the same value in <c>envoy.lb</c>
/// metadata, <c>clear_route_cache</c>, then the body — the original bytes, or with only the model
/// value rewritten — in ≤ 62,000 B pieces.</item>
/// </list>
/// The response is echoed as it arrives (token streams are never held); a rewritten model name is
/// put back for the client, usage is read for metrics, and the endpoint's in-flight count is
/// released when the stream ends, however it ends.
/// </summary>
public sealed partial class EndpointPickerProcessor : IExtProcProcessor
{
    private readonly EndpointPickerContext _context;
    private readonly ObjectPool<Handler> _handlers;
    private readonly Utf8StringCache _models = new(4096);
    private readonly Utf8StringCache _fairnessIds = new(16384);

    public EndpointPickerProcessor(EndpointPickerContext context)
    {
        _context = context;
        _handlers = new DefaultObjectPool<Handler>(new HandlerPolicy(this), 1024);
    }

    public string Name => "endpoint-picker";

    public ExtProcStreamHandler RentHandler() => _handlers.Get();

    public void ReturnHandler(ExtProcStreamHandler handler) => _handlers.Return((Handler)handler);

    private sealed class HandlerPolicy(EndpointPickerProcessor owner) : PooledObjectPolicy<Handler>
    {
        public override Handler Create() => new(owner);

        public override bool Return(Handler obj)
        {
            obj.Reset();
            return true;
        }
    }

    private sealed class Handler(EndpointPickerProcessor owner) : ExtProcStreamHandler, IDisposable
    {
        private const int MaxUsageBodyBytes = 1024 * 1024;

        private readonly EndpointPickerContext _context = owner._context;
        private readonly InferenceRequestParser _parser = new();
        private readonly JsonBodyRewriter _rewriter = new();
        private readonly SchedulingRequest _request = new();
        private readonly SchedulingResult _result = new();
        private readonly ModelRestorer _restorer = new();
        private readonly SseTail _sseTail = new();
        private readonly TokenUsageReader _usage = new();
        private readonly RequestHeaders _requestHeaders = new();
        private readonly VllmGrpcRequestParser _grpcParser = new();
        private EndpointState[] _candidates = new EndpointState[16];
        private byte[] _destination = new byte[256];
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
        private bool _routed;
        private bool _eventStream;
        private bool _usageTooLarge;

        private static readonly RequestMetricLabels s_noLabels = new(string.Empty, string.Empty, EndpointPickerHeaders.DefaultFairnessId, MetricLabels.Priority(0));

        public override ValueTask OnRequestHeadersAsync(ExtProcStream stream)
        {
            _receivedAt = Stopwatch.GetTimestamp();
            // Envoy attaches the subset hint to the headers message; the pick happens later, at the body's end.
            KeepMetadata(stream.Message);
            // No body (headers end the stream), or a mode where the body cannot hold the headers back: pick now.
            if (stream.Message.EndOfStream || stream.RequestBodyMode is BodySendMode.None or BodySendMode.Streamed)
            {
                return PickAsync(stream, default, hasBody: false);
            }

            return stream.RequestBodyMode == BodySendMode.FullDuplexStreamed ? ValueTask.CompletedTask : stream.ContinueAsync();
        }

        public override ValueTask OnRequestBodyAsync(ExtProcStream stream)
        {
            if (_routed)
            {
                // STREAMED: the pick was made on the headers; the body passes through.
                return stream.ContinueAsync();
            }

            if (stream.RequestBodyMode is BodySendMode.Buffered or BodySendMode.BufferedPartial)
            {
                return PickAsync(stream, stream.Message.Body, hasBody: true);
            }

            if (!stream.Message.EndOfStream)
            {
                stream.RequestBody.Append(stream.Message.Body);
                return ValueTask.CompletedTask;
            }

            if (stream.RequestBody.IsEmpty)
            {
                return PickAsync(stream, stream.Message.Body, hasBody: true);
            }

            stream.RequestBody.Append(stream.Message.Body);
            return PickAsync(stream, stream.RequestBody.AsSequence(), hasBody: true);
        }

        public override async ValueTask OnRequestTrailersAsync(ExtProcStream stream)
        {
            // Trailers end a full-duplex body that had no end_of_stream chunk.
            if (!_routed && stream.RequestBodyMode == BodySendMode.FullDuplexStreamed)
            {
                await PickAsync(stream, stream.RequestBody.AsSequence(), hasBody: !stream.RequestBody.IsEmpty).ConfigureAwait(false);
                if (stream.IsFinished)
                {
                    return;
                }
            }

            await stream.ContinueAsync().ConfigureAwait(false);
        }

        public override ValueTask OnResponseHeadersAsync(ExtProcStream stream)
        {
            _eventStream = stream.ResponseHeaders.TryGetValue(EndpointPickerHeaders.ContentType, out var type) && type.StartsWith("text/event-stream"u8);
            _responseHeadersAt = Stopwatch.GetTimestamp();
            MoveInFlightToServed(stream);

            // The body will change length: drop content-length so the client does not read a wrong size.
            var dropLength = _restorer.IsActive && stream.ResponseBodyMode is BodySendMode.FullDuplexStreamed or BodySendMode.Buffered or BodySendMode.BufferedPartial && !stream.Message.EndOfStream;
            if (!dropLength && !_context.VerifyServedEndpoint)
            {
                return stream.ContinueAsync();
            }

            var reply = stream.BeginResponse(ProcessingResponseKind.ResponseHeaders);
            if (dropLength)
            {
                reply.RemoveHeader(EndpointPickerHeaders.ContentLength);
            }

            if (_context.VerifyServedEndpoint)
            {
                reply.SetHeader(EndpointPickerHeaders.ServedVerifierHeader, ServedEndpointResult(stream.Message));
            }

            return stream.SendAsync();
        }

        /// <summary>What destination-endpoint-served-verifier reports: the served endpoint, or why it is unknown.</summary>
        private static ReadOnlySpan<byte> ServedEndpointResult(ExtProcRequest message)
        {
            if (!message.HasMetadataContext)
            {
                return "fail: missing envoy lb metadata"u8;
            }

            var metadata = message.MetadataContext;
            var bytes = metadata.IsSingleSegment ? metadata.FirstSpan : metadata.ToArray();
            if (MetadataReader.TryFindValue(bytes, EndpointPickerHeaders.LbNamespace, EndpointPickerHeaders.ServedEndpointKey, out var value) && MetadataReader.TryGetString(value, out var served))
            {
                return served;
            }

            return MetadataReader.HasNamespace(bytes, EndpointPickerHeaders.LbNamespace) ? "fail: missing destination endpoint served metadata"u8 : "fail: missing envoy lb metadata"u8;
        }

        public override ValueTask OnResponseBodyAsync(ExtProcStream stream)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                return HandleResponseBody(stream, started);
            }
            finally
            {
                // Streamed responses: llm-d sums the handler's time per chunk.
                _responseHandlerTicks += Stopwatch.GetTimestamp() - started;
            }
        }

        private ValueTask HandleResponseBody(ExtProcStream stream, long now)
        {
            var body = stream.Message.Body;
            var end = stream.Message.EndOfStream;
            TrackResponseChunk(body.Length, now);
            CaptureUsage(stream, body, end);
            if (_restorer.IsActive && stream.ResponseBodyMode is BodySendMode.Buffered or BodySendMode.BufferedPartial)
            {
                return RestoreBufferedAsync(stream, body, end);
            }

            if (!_restorer.IsActive || stream.ResponseBodyMode != BodySendMode.FullDuplexStreamed)
            {
                // STREAMED passes unchanged: holding bytes back across chunks could lose them when trailers follow.
                return stream.ContinueAsync();
            }

            if (_eventStream)
            {
                return stream.SendStreamedBodyAsync(ExtProcDirection.Response, _restorer.RestoreEvents(body, end), end);
            }

            // JSON: the model may be anywhere in the body, so it is rewritten once whole.
            if (!end)
            {
                stream.ResponseBody.Append(body);
                return ValueTask.CompletedTask;
            }

            stream.ResponseBody.Append(body);
            _ = ReadUsage(stream.ResponseBody.AsSequence());
            return stream.SendStreamedBodyAsync(ExtProcDirection.Response, _restorer.RestoreJson(stream.ResponseBody.AsSequence()), endOfStream: true);
        }

        public override ValueTask OnResponseTrailersAsync(ExtProcStream stream)
        {
            if (_inFlight is not null && _tokenUsage is null && !_usageTooLarge)
            {
                // Trailers ended the body without an end_of_stream chunk: usage is read from what came.
                _ = ReadUsage(_eventStream ? _sseTail.LastEventJson() : stream.ResponseBody.AsSequence());
            }

            if (_restorer.IsActive && stream.ResponseBodyMode == BodySendMode.FullDuplexStreamed && !_eventStream && !stream.ResponseBody.IsEmpty)
            {
                return FlushJsonThenContinueAsync(stream);
            }

            return stream.ContinueAsync();
        }

        public override void OnStreamEnd(ExtProcStream stream, bool aborted) => ReleaseInFlight();

        public void Reset()
        {
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
            _routed = false;
            _eventStream = false;
            _usageTooLarge = false;
            _metadataLength = 0;
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

        /// <summary>
        /// BUFFERED: the one body message is the whole body (its end flag is false only when trailers
        /// follow), so the model is restored in it. BUFFERED_PARTIAL cut short passes unchanged.
        /// </summary>
        private ValueTask RestoreBufferedAsync(ExtProcStream stream, in ReadOnlySequence<byte> body, bool end)
        {
            if (!end && stream.ResponseBodyMode == BodySendMode.BufferedPartial)
            {
                return stream.ContinueAsync();
            }

            var restored = _eventStream ? _restorer.RestoreEvents(body, endOfStream: true) : _restorer.RestoreJson(body);
            stream.BeginResponse(ProcessingResponseKind.ResponseBody).SetBody(restored);
            return stream.SendAsync();
        }

        private async ValueTask FlushJsonThenContinueAsync(ExtProcStream stream)
        {
            await stream.SendStreamedBodyAsync(ExtProcDirection.Response, _restorer.RestoreJson(stream.ResponseBody.AsSequence()), endOfStream: true).ConfigureAwait(false);
            stream.ResponseBody.Reset();
            await stream.ContinueAsync().ConfigureAwait(false);
        }

        private async ValueTask PickAsync(ExtProcStream stream, ReadOnlySequence<byte> body, bool hasBody)
        {
            if (_receivedAt == 0)
            {
                _receivedAt = Stopwatch.GetTimestamp();
            }

            using var orchestration = stream.StartChildSpan("gateway.request_orchestration", ActivityKind.Server);
            try
            {
                await PickCoreAsync(stream, body, hasBody).ConfigureAwait(false);
            }
            finally
            {
                // llm-d: from receipt until the body was handled, admission included, rejections too.
                _context.Metrics.RequestProcessed(Stopwatch.GetElapsedTime(_receivedAt).TotalSeconds);
            }
        }

        private async ValueTask PickCoreAsync(ExtProcStream stream, ReadOnlySequence<byte> body, bool hasBody)
        {
            _routed = true;
            var headers = stream.RequestHeaders;
            var api = InferenceApi.Other;
            string clientModel = string.Empty, targetModel = string.Empty;

            // passthrough-parser: the body is forwarded unread, so there is no model or prompt to route on.
            // vllmgrpc-parser: a gRPC frame with a prompt but no model field.
            var parse = hasBody && _context.Parsing == RequestParsing.OpenAI;
            var grpc = hasBody && _context.Parsing == RequestParsing.VllmGrpc;
            if (grpc)
            {
                headers.TryGetValue(EndpointPickerHeaders.Path, out var grpcPath);
                if (!_grpcParser.TryParse(grpcPath, body, out var grpcError))
                {
                    await RejectAsync(stream, new EndpointPickerError(400, grpcError)).ConfigureAwait(false);
                    return;
                }
            }

            if (parse)
            {
                headers.TryGetValue(EndpointPickerHeaders.Path, out var path);
                api = InferenceApiPaths.Classify(path);
                if (!_parser.TryParse(api, body, out var parseError))
                {
                    await RejectAsync(stream, new EndpointPickerError(400, parseError)).ConfigureAwait(false);
                    return;
                }

                clientModel = ModelString(_parser.Scanner);
                targetModel = RewriteModel(headers, clientModel);
            }

            var priority = _context.Objectives.GetPriority(Header(headers, EndpointPickerHeaders.Objective, EndpointPickerHeaders.ObjectiveLlmD));
            var fairness = Header(headers, EndpointPickerHeaders.FairnessId, EndpointPickerHeaders.FairnessIdLlmD);
            var fairnessId = fairness.IsEmpty ? EndpointPickerHeaders.DefaultFairnessId : owner._fairnessIds.Get(fairness);
            _labels = new RequestMetricLabels(clientModel, targetModel, fairnessId, MetricLabels.Priority(priority));
            stream.CurrentSpan?.SetTag("target_model", targetModel).SetTag("request_prio", priority);

            var (admissionError, effectivePriority) = await _context.Admission.AdmitAsync(_labels, priority, body.Length, stream.Cancelled, SloTtft(headers)).ConfigureAwait(false);
            if (effectivePriority != priority)
            {
                _labels = _labels with { Priority = MetricLabels.Priority(effectivePriority) };
            }

            if (admissionError is not null)
            {
                await RejectAsync(stream, admissionError).ConfigureAwait(false);
                return;
            }

            _request.TargetModel = targetModel;
            _request.Priority = effectivePriority;
            _request.BodyBytes = body.Length;
            _request.Streaming = parse ? _parser.IsStreaming : grpc && _grpcParser.IsStreaming;
            _request.Prompt = parse ? _parser.PromptBytes(api) : grpc ? _grpcParser.Prompt : default;
            _request.CacheSalt = parse ? _parser.CacheSaltBytes() : default;
            _requestHeaders.List = headers;
            _request.Headers = _requestHeaders;

            var error = Schedule(stream);
            _request.Prompt = default;
            _request.CacheSalt = default;
            _request.Headers = null;
            _requestHeaders.List = null;
            if (error is not null)
            {
                await RejectAsync(stream, error).ConfigureAwait(false);
                return;
            }

            // The request now counts against the endpoint until its stream ends.
            _inFlight = _result.Primary;
            _inFlightTokens = body.Length / 4;
            _inFlight.AddInFlight(_inFlightTokens);
            _context.Metrics.Picked(_labels, body.Length);

            var outgoing = body;
            var rewritten = parse && !ReferenceEquals(clientModel, targetModel) && clientModel != targetModel;
            if (rewritten)
            {
                outgoing = RewriteBodyModel(targetModel);
                _restorer.Begin(clientModel, targetModel);
            }

            var fullDuplex = hasBody && stream.RequestBodyMode == BodySendMode.FullDuplexStreamed;
            var onBody = hasBody && stream.RequestBodyMode is BodySendMode.Buffered or BodySendMode.BufferedPartial;
            var reply = stream.BeginResponse(onBody ? ProcessingResponseKind.RequestBody : ProcessingResponseKind.RequestHeaders);
            WriteDestination(reply, headers, rewritten ? outgoing.Length : -1);
            if (onBody && rewritten)
            {
                reply.SetBody(outgoing);
            }

            await stream.SendAsync().ConfigureAwait(false);
            if (fullDuplex)
            {
                await stream.SendStreamedBodyAsync(ExtProcDirection.Request, outgoing, endOfStream: true).ConfigureAwait(false);
            }
        }

        private EndpointPickerError? Schedule(ExtProcStream stream)
        {
            var snapshot = _context.Endpoints.Current;
            if (snapshot.Count == 0)
            {
                return EndpointPickerError.NoEndpoints;
            }

            ReadOnlySpan<EndpointState> candidates = snapshot.Endpoints;
            if (!_context.DisableSubsetFilter && TryGetSubsetHint(stream, out var subset))
            {
                var count = FilterToSubset(snapshot, subset);
                if (count == 0)
                {
                    return EndpointPickerError.EmptySubset;
                }

                candidates = _candidates.AsSpan(0, count);
            }

            candidates = WithoutStale(candidates);
            var started = Stopwatch.GetTimestamp();
            _result.Reset();
            _context.Scheduler.Schedule(_request, candidates, _result);
            _context.Metrics.Scheduled(Stopwatch.GetElapsedTime(started).TotalSeconds);
            _context.Metrics.SchedulingAttempt(_request.TargetModel, _result.Status == SchedulingStatus.Picked && _result.Count > 0 ? _result.Primary.Endpoint : null);
            return _result.Status switch
            {
                SchedulingStatus.Picked when _result.Count > 0 => null,
                SchedulingStatus.AllFiltered => EndpointPickerError.AllFiltered,
                _ => EndpointPickerError.NoEndpoints,
            };
        }

        private ReadOnlySpan<EndpointState> WithoutStale(ReadOnlySpan<EndpointState> candidates)
        {
            if (_candidates.Length < candidates.Length)
            {
                _candidates = new EndpointState[candidates.Length];
            }

            // Filtering in place is safe when candidates already live in _candidates: writes never pass reads.
            var fresh = 0;
            foreach (var state in candidates)
            {
                if (state.Metrics.Age(_context.Time) <= _context.StalenessThreshold)
                {
                    _candidates[fresh++] = state;
                }
            }

            return fresh == 0 || fresh == candidates.Length ? candidates : _candidates.AsSpan(0, fresh);
        }

        private void KeepMetadata(ExtProcRequest message)
        {
            _metadataLength = 0;
            if (!message.HasMetadataContext)
            {
                return;
            }

            var metadata = message.MetadataContext;
            if (_metadata.Length < metadata.Length)
            {
                _metadata = new byte[Math.Max(256, (int)metadata.Length)];
            }

            metadata.CopyTo(_metadata);
            _metadataLength = (int)metadata.Length;
        }

        private bool TryGetSubsetHint(ExtProcStream stream, out ReadOnlySpan<byte> list)
        {
            list = default;
            if (stream.Message.HasMetadataContext && stream.Message.Kind != ProcessingRequestKind.RequestHeaders)
            {
                KeepMetadata(stream.Message);
            }

            return _metadataLength > 0
                && MetadataReader.TryFindValue(_metadata.AsSpan(0, _metadataLength), EndpointPickerHeaders.SubsetHintNamespace, EndpointPickerHeaders.SubsetHintKey, out var value)
                && MetadataReader.TryGetList(value, out list);
        }

        private int FilterToSubset(EndpointSnapshot snapshot, ReadOnlySpan<byte> list)
        {
            if (_candidates.Length < snapshot.Count)
            {
                _candidates = new EndpointState[snapshot.Count];
            }

            Span<char> chars = stackalloc char[64];
            var count = 0;
            foreach (var entry in MetadataReader.EnumerateStrings(list))
            {
                if (entry.Length > chars.Length || !Encoding.UTF8.TryGetChars(entry, chars, out var n))
                {
                    continue;
                }

                if (snapshot.TryGetByHostPort(chars[..n], out var state) && state is not null && !Contains(_candidates.AsSpan(0, count), state))
                {
                    _candidates[count++] = state;
                }
            }

            return count;
        }

        private string ModelString(JsonBodyScanner scanner)
        {
            Span<byte> model = stackalloc byte[512];
            if (scanner.GetMaxStringLength(InferenceRequestParser.Model) <= model.Length && scanner.TryCopyString(InferenceRequestParser.Model, model, out var written))
            {
                return owner._models.Get(model[..written]);
            }

            var buffer = new byte[scanner.GetMaxStringLength(InferenceRequestParser.Model)];
            return scanner.TryCopyString(InferenceRequestParser.Model, buffer, out var length) ? Encoding.UTF8.GetString(buffer, 0, length) : string.Empty;
        }

        private string RewriteModel(HeaderList headers, string clientModel)
        {
            // The gateway's explicit override wins over the rewrite rules.
            var overrideModel = Header(headers, EndpointPickerHeaders.ModelRewrite, EndpointPickerHeaders.ModelRewriteLlmD);
            if (!overrideModel.IsEmpty)
            {
                return owner._models.Get(overrideModel);
            }

            if (!_context.Rewrites.TryRewrite(clientModel, out var target, out var rewriteName))
            {
                return clientModel;
            }

            _context.Metrics.ModelRewrite(rewriteName, clientModel, target);
            return target;
        }

        private ReadOnlySequence<byte> RewriteBodyModel(string targetModel)
        {
            Span<byte> utf8 = stackalloc byte[512];
            var bytes = Encoding.UTF8.GetByteCount(targetModel) <= utf8.Length ? utf8[..Encoding.UTF8.GetBytes(targetModel, utf8)] : Encoding.UTF8.GetBytes(targetModel);
            _rewriter.Begin(_parser.Scanner);
            _rewriter.ReplaceWithString(InferenceRequestParser.Model, bytes);
            var length = checked((int)_rewriter.OutputLength);
            _rewrittenBody = PooledBuffers.Rent(Math.Max(1, length));
            _rewriter.CopyTo(_rewrittenBody);
            return new ReadOnlySequence<byte>(_rewrittenBody, 0, length);
        }

        private void WriteDestination(ProcessingResponseBuilder reply, HeaderList headers, long newContentLength)
        {
            var picked = _result.Picked;
            var needed = 0;
            foreach (var endpoint in picked)
            {
                needed += endpoint.Endpoint.HostPortUtf8.Length + 1;
            }

            if (_destination.Length < needed)
            {
                _destination = new byte[needed * 2];
            }

            var length = 0;
            foreach (var endpoint in picked)
            {
                if (length > 0)
                {
                    _destination[length++] = (byte)',';
                }

                endpoint.Endpoint.HostPortUtf8.Span.CopyTo(_destination.AsSpan(length));
                length += endpoint.Endpoint.HostPortUtf8.Length;
            }

            _destinationLength = length;
            var destination = _destination.AsSpan(0, _destinationLength);
            if (_context.Logger.IsEnabled(LogLevel.Debug))
            {
                Log.Picked(_context.Logger, Encoding.UTF8.GetString(destination), _request.TargetModel, _request.Priority);
            }

            reply.SetHeader(EndpointPickerHeaders.DestinationEndpoint, destination);
            reply.AddDynamicMetadata(EndpointPickerHeaders.LbNamespace, EndpointPickerHeaders.DestinationEndpoint, destination);
            if (!headers.TryGetValue(EndpointPickerHeaders.RequestId, out var id) || id.IsEmpty)
            {
                Span<byte> generated = stackalloc byte[36];
                Guid.NewGuid().TryFormat(generated, out var written);
                reply.SetHeader(EndpointPickerHeaders.RequestId, generated[..written]);
            }

            if (newContentLength >= 0)
            {
                Span<byte> digits = stackalloc byte[20];
                newContentLength.TryFormat(digits, out var written, default, System.Globalization.CultureInfo.InvariantCulture);
                reply.SetHeader(EndpointPickerHeaders.ContentLength, digits[..written]);
            }

            reply.ClearRouteCache = true;
        }

        private void MoveInFlightToServed(ExtProcStream stream)
        {
            // Envoy reports the endpoint it really used (a fallback if the primary failed); count the load there.
            var message = stream.Message;
            if (_inFlight is null || !message.HasMetadataContext)
            {
                return;
            }

            var metadata = message.MetadataContext;
            var bytes = metadata.IsSingleSegment ? metadata.FirstSpan : metadata.ToArray();
            if (!MetadataReader.TryFindValue(bytes, EndpointPickerHeaders.LbNamespace, EndpointPickerHeaders.ServedEndpointKey, out var value)
                || !MetadataReader.TryGetString(value, out var served) || served.SequenceEqual(_inFlight.Endpoint.HostPortUtf8.Span) || served.Length > 64)
            {
                return;
            }

            Span<char> chars = stackalloc char[64];
            var n = Encoding.UTF8.GetChars(served, chars);
            if (_context.Endpoints.Current.TryGetByHostPort(chars[..n], out var state) && state is not null)
            {
                _inFlight.RemoveInFlight(_inFlightTokens);
                _inFlight = state;
                state.AddInFlight(_inFlightTokens);
            }
        }

        private void CaptureUsage(ExtProcStream stream, in ReadOnlySequence<byte> body, bool end)
        {
            if (_inFlight is null)
            {
                return;
            }

            // A JSON body being restored (full duplex) is gathered by the restore path, which reads usage itself.
            var restoreGathers = _restorer.IsActive && stream.ResponseBodyMode == BodySendMode.FullDuplexStreamed && !_eventStream;
            if (_eventStream)
            {
                _sseTail.Append(body);
            }
            else if (!restoreGathers && !_usageTooLarge)
            {
                // Kept only to read usage at the end (bounded); the chunks themselves are echoed at once.
                _usageTooLarge = stream.ResponseBody.Length + body.Length > MaxUsageBodyBytes;
                if (!_usageTooLarge)
                {
                    stream.ResponseBody.Append(body);
                }
            }

            if (end && !restoreGathers && !_usageTooLarge)
            {
                var usage = ReadUsage(_eventStream ? _sseTail.LastEventJson() : stream.ResponseBody.AsSequence());
                foreach (var reporter in _context.Reporters)
                {
                    if (reporter.TryCompute(usage, out var value))
                    {
                        stream.AddResponseEndMetadata(reporter.NamespaceUtf8, reporter.KeyUtf8, value);
                    }
                }
            }
        }

        /// <summary>The response's token usage (zeros when it has none), kept for the request's metrics.</summary>
        private TokenUsage ReadUsage(in ReadOnlySequence<byte> json)
        {
            TokenUsage usage = default;
            var read = _context.Parsing == RequestParsing.VllmGrpc
                ? VllmGrpcRequestParser.TryReadUsage(json, _grpcParser.IsEmbed, out usage)
                : _usage.TryRead(json, out usage);
            if (!read)
            {
                return default;
            }

            if (_inFlight is not null)
            {
                _tokenUsage = usage;
            }

            return usage;
        }

        private void TrackResponseChunk(long bytes, long now)
        {
            if (_inFlight is null)
            {
                return;
            }

            _responseBytes += bytes;
            if (_firstChunkAt == 0)
            {
                _firstChunkAt = now;
            }
            else if (_eventStream)
            {
                _context.Metrics.InterTokenLatency(_labels, Stopwatch.GetElapsedTime(_lastChunkAt, now).TotalSeconds);
            }

            _lastChunkAt = now;
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
            if (_responseHeadersAt != 0)
            {
                _context.Metrics.ResponseProcessed(_eventStream
                    ? Stopwatch.GetElapsedTime(0, _responseHandlerTicks).TotalSeconds
                    : Stopwatch.GetElapsedTime(_responseHeadersAt, _lastChunkAt == 0 ? now : _lastChunkAt).TotalSeconds);
            }

            // Capacity freed: queued requests may dispatch now.
            _context.Admission.FlowControl?.NotifyCapacityChanged();
        }

        private ValueTask RejectAsync(ExtProcStream stream, EndpointPickerError error)
        {
            _context.Metrics.Error(_labels, error);
            Log.Rejected(_context.Logger, error.HttpStatus, error.Message);
            return stream.IsFinished || stream.Cancelled.IsCancellationRequested
                ? ValueTask.CompletedTask
                : stream.SendImmediateResponseAsync(error.HttpStatus, error.Body, error.Details);
        }

        private static bool Contains(ReadOnlySpan<EndpointState> states, EndpointState state)
        {
            foreach (var existing in states)
            {
                if (ReferenceEquals(existing, state))
                {
                    return true;
                }
            }

            return false;
        }

        private static ReadOnlySpan<byte> Header(HeaderList headers, ReadOnlySpan<byte> name, ReadOnlySpan<byte> alternative) =>
            headers.TryGetValue(name, out var value) || headers.TryGetValue(alternative, out value) ? value : default;

        /// <summary>The <c>x-slo-ttft-ms</c> objective (slo-deadline-ordering-policy's deadline); zero when absent or invalid.</summary>
        private static TimeSpan SloTtft(HeaderList headers) =>
            headers.TryGetValue(EndpointPickerHeaders.SloTtftMs, out var value)
            && System.Buffers.Text.Utf8Parser.TryParse(value, out double ms, out var consumed) && consumed == value.Length && ms > 0 && double.IsFinite(ms)
                ? TimeSpan.FromMilliseconds(Math.Min(ms, TimeSpan.MaxValue.TotalMilliseconds / 2))
                : TimeSpan.Zero;

        /// <summary>The request headers as scheduling plugins read them (for header-based filters).</summary>
        private sealed class RequestHeaders : IRequestHeaders
        {
            public HeaderList? List { get; set; }

            public bool TryGetValue(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
            {
                value = default;
                return List is not null && List.TryGetValue(name, out value);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(4201, LogLevel.Debug, "Endpoint picker rejected a request with {Status}: {Reason}")]
        public static partial void Rejected(ILogger logger, int status, string reason);

        [LoggerMessage(4202, LogLevel.Debug, "Picked {Destination} for model {Model} at priority {Priority}")]
        public static partial void Picked(ILogger logger, string destination, string model, int priority);
    }
}
