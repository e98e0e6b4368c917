using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Runtime.ExtProc.Buffers;
using Grpc.Core;
using Runtime.ExtProc.Codec;

namespace Runtime.ExtProc.Stream;

/// <summary>
/// The state machine of one ext_proc stream (one HTTP request): tracks the phases Envoy has
/// sent per direction, hands each message to the <see cref="ExtProcStreamHandler"/>, and
/// checks every reply we send against Envoy's ordering rules before it goes on the wire —
/// a processor bug becomes a clear INTERNAL status instead of a confused proxy.
/// Pooled: storage (headers, bodies, response builder) is kept between streams; <see cref="Dispose"/>
/// gives it back to the buffer pools when the stream leaves the pool for good.
/// One file (~530 lines) on purpose: every send checks Envoy's ordering rules against the same
/// per-direction state, so the phases, the sends and that state stay together (tracing is in
/// ExtProcStream.Tracing.cs).
/// </summary>
internal sealed partial class ExtProcStream : IDisposable
{
    private static readonly WriteOptions s_bufferHint = new(WriteFlags.BufferHint);

    private IServerStreamWriter<ProcessingResponseBuilder>? _writer;
    private Task? _pendingFlush;
    private CancellationToken _cancelled;
    private ExtProcStreamHandler? _handler;
    private ExtProcOptions _options = new();
    private DirectionState _request;
    private DirectionState _response;
    private bool _sawFirstMessage;

    /// <summary>The message being handled. Its body is valid only during the current phase call.</summary>
    public ExtProcRequest Message { get; } = new();

    /// <summary>The reply under construction; filled by <see cref="BeginResponse"/>, sent by <see cref="SendAsync"/>.</summary>
    public ProcessingResponseBuilder Response { get; } = new();

    /// <summary>Request headers, kept for the whole stream (the message's own map is reused).</summary>
    public HeaderList RequestHeaders { get; } = new();

    /// <summary>Response headers, kept for the whole stream.</summary>
    public HeaderList ResponseHeaders { get; } = new();

    /// <summary>Pooled accumulator for processors that need the whole request body.</summary>
    public BodyBuffer RequestBody { get; } = new();

    /// <summary>Pooled accumulator for processors that need the whole response body.</summary>
    public BodyBuffer ResponseBody { get; } = new();

    public BodySendMode RequestBodyMode { get; private set; }

    public BodySendMode ResponseBodyMode { get; private set; }

    /// <summary>Envoy asked for no replies (observability mode): sends are dropped.</summary>
    public bool ObservabilityMode { get; private set; }

    /// <summary>An immediate response was sent: the stream is over for Envoy.</summary>
    public bool IsFinished { get; private set; }

    /// <summary>Cancelled when the client resets the stream, the deadline passes, or the server shuts down hard.</summary>
    public CancellationToken Cancelled => _cancelled;

    public BodySendMode BodyMode(ExtProcDirection direction) =>
        direction == ExtProcDirection.Request ? RequestBodyMode : ResponseBodyMode;

    internal void Start(IServerStreamWriter<ProcessingResponseBuilder> writer, ExtProcStreamHandler handler, ExtProcOptions options, CancellationToken cancelled)
    {
        _writer = writer;
        _cancelled = cancelled;
        _handler = handler;
        _options = options;
        RequestBodyMode = options.DefaultRequestBodyMode;
        ResponseBodyMode = options.DefaultResponseBodyMode;
        RequestBody.Budget = options.BodyBudget;
        ResponseBody.Budget = options.BodyBudget;
    }

    internal void Reset()
    {
        _responseEndMetadata.Clear();
        _pendingFlush = null;
        _writer = null;
        _cancelled = default;
        _handler = null;
        _request = default;
        _response = default;
        _sawFirstMessage = false;
        IsFinished = false;
        ObservabilityMode = false;
        Message.Reset();
        RequestHeaders.Clear();
        ResponseHeaders.Clear();
        RequestBody.Reset();
        ResponseBody.Reset();

        // The last reply may still point at the last received body: a pooled stream must not keep
        // that array alive (after a burst the message pool drops its arrays, and these would stay).
        Response.Reset(ProcessingResponseKind.None);
    }

    /// <summary>Returns the storage kept between streams (the stream pool dropped this one, or the service stopped).</summary>
    public void Dispose()
    {
        Reset();
        Message.Release();
        RequestHeaders.Release();
        ResponseHeaders.Release();
        Response.Release();
    }

    /// <summary>Decodes one received message, checks it against the protocol, and runs the handler's phase.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask DispatchAsync(ReadOnlySequence<byte> payload)
    {
        if (!ProcessingRequestDecoder.TryDecode(payload, Message, out var error))
        {
            throw new RpcException(new Status(StatusCode.Internal, "Failed to decode ProcessingRequest: " + error));
        }

        if (!_sawFirstMessage)
        {
            _sawFirstMessage = true;
            ObservabilityMode = Message.ObservabilityMode;
            if (Message.HasProtocolConfig)
            {
                RequestBodyMode = Message.RequestBodyMode;
                ResponseBodyMode = Message.ResponseBodyMode;
            }
        }

        var handler = _handler!;
        switch (Message.Kind)
        {
            case ProcessingRequestKind.RequestHeaders:
                ReceiveHeaders(ref _request, RequestHeaders, "request_headers");
                StartRequestSpan();
                await handler.OnRequestHeadersAsync(this).ConfigureAwait(false);
                break;
            case ProcessingRequestKind.RequestBody:
                ReceiveBody(ref _request, "request_body");
                await handler.OnRequestBodyAsync(this).ConfigureAwait(false);
                break;
            case ProcessingRequestKind.RequestTrailers:
                ReceiveTrailers(ref _request, "request_trailers");
                await handler.OnRequestTrailersAsync(this).ConfigureAwait(false);
                break;
            case ProcessingRequestKind.ResponseHeaders:
                ReceiveHeaders(ref _response, ResponseHeaders, "response_headers");
                if (_span is not null)
                {
                    NoteUpstreamStatus();
                }

                await handler.OnResponseHeadersAsync(this).ConfigureAwait(false);
                break;
            case ProcessingRequestKind.ResponseBody:
                ReceiveBody(ref _response, "response_body");
                await handler.OnResponseBodyAsync(this).ConfigureAwait(false);
                break;
            case ProcessingRequestKind.ResponseTrailers:
                ReceiveTrailers(ref _response, "response_trailers");
                await handler.OnResponseTrailersAsync(this).ConfigureAwait(false);
                break;
            default:
                throw new RpcException(new Status(StatusCode.InvalidArgument, "ProcessingRequest carries no request, body or trailers."));
        }
    }

    internal void End(bool aborted)
    {
        _handler?.OnStreamEnd(this, aborted);
        EndSpans();
    }

    private readonly List<(byte[] Namespace, byte[] Key, double Value)> _responseEndMetadata = [];

    /// <summary>
    /// Number-valued dynamic metadata to send with the reply that carries the response body's end
    /// (whatever sends it: a buffered body reply, a continue, or the last streamed piece).
    /// </summary>
    public void AddResponseEndMetadata(byte[] filterNamespace, byte[] key, double value) => _responseEndMetadata.Add((filterNamespace, key, value));

    private void ApplyResponseEndMetadata()
    {
        foreach (var (ns, key, value) in _responseEndMetadata)
        {
            Response.AddDynamicMetadata(ns, key, value);
        }

        _responseEndMetadata.Clear();
    }

    /// <summary>Starts a reply of <paramref name="kind"/>; fill the returned builder, then <see cref="SendAsync"/>.</summary>
    public ProcessingResponseBuilder BeginResponse(ProcessingResponseKind kind)
    {
        Response.Reset(kind);
        return Response;
    }

    /// <summary>
    /// Sends the reply built since <see cref="BeginResponse"/>. Streamed body chunks go
    /// through <see cref="SendStreamedBodyAsync"/> instead, which splits and counts them.
    /// </summary>
    public ValueTask SendAsync()
    {
        var kind = Response.Kind;
        switch (kind)
        {
            case ProcessingResponseKind.RequestHeaders:
                CheckHeadersReply(ref _request, "request_headers");
                if (_span is not null)
                {
                    PropagateRequestSpan();
                }

                break;
            case ProcessingResponseKind.ResponseHeaders:
                CheckHeadersReply(ref _response, "response_headers");
                break;
            case ProcessingResponseKind.RequestBody:
                CheckBufferedBodyReply(ref _request, RequestBodyMode, "request_body");
                break;
            case ProcessingResponseKind.ResponseBody:
                CheckBufferedBodyReply(ref _response, ResponseBodyMode, "response_body");
                if (_responseEndMetadata.Count > 0)
                {
                    ApplyResponseEndMetadata();
                }

                break;
            case ProcessingResponseKind.RequestTrailers:
                CheckTrailersReply(ref _request, RequestBodyMode, "request_trailers");
                break;
            case ProcessingResponseKind.ResponseTrailers:
                CheckTrailersReply(ref _response, ResponseBodyMode, "response_trailers");
                break;
            case ProcessingResponseKind.ImmediateResponse:
                CheckNotFinished();
                IsFinished = true;
                break;
            default:
                ThrowOrdering("a response without a kind");
                break;
        }

        return WriteAsync(flush: true);
    }

    /// <summary>
    /// Full duplex: sends <paramref name="body"/> as the bytes that go on to the upstream (or
    /// client), in pieces of at most <see cref="ExtProcOptions.StreamedChunkSize"/>; only the
    /// last piece carries <paramref name="endOfStream"/>. An empty non-final body sends nothing.
    /// </summary>
    public ValueTask SendStreamedBodyAsync(ExtProcDirection direction, in ReadOnlySequence<byte> body, bool endOfStream)
    {
        ref var state = ref direction == ExtProcDirection.Request ? ref _request : ref _response;
        var name = direction == ExtProcDirection.Request ? "request_body" : "response_body";
        var kind = direction == ExtProcDirection.Request ? ProcessingResponseKind.RequestBody : ProcessingResponseKind.ResponseBody;
        if (BodyMode(direction) != BodySendMode.FullDuplexStreamed)
        {
            ThrowOrdering($"a streamed {name} reply outside FULL_DUPLEX_STREAMED");
        }

        CheckNotFinished();
        if (!state.HeadersReplied)
        {
            ThrowOrdering($"a {name} reply before the headers reply");
        }

        if (state.BodyEndReplied)
        {
            ThrowOrdering($"a {name} reply after the one with end_of_stream");
        }

        if (endOfStream && !state.BodyEndReceived && !state.TrailersReceived)
        {
            ThrowOrdering($"a {name} reply with end_of_stream before the body ended");
        }

        if (body.IsEmpty && !endOfStream)
        {
            return ValueTask.CompletedTask;
        }

        state.BodyEndReplied = endOfStream;
        var remaining = body;
        do
        {
            var last = NextStreamedPiece(kind, ref remaining, endOfStream);

            // One flush for the whole body: every piece but the last is buffered.
            var write = WriteAsync(flush: last);
            if (!write.IsCompletedSuccessfully)
            {
                return last ? write : AwaitThenStreamRestAsync(write, kind, remaining, endOfStream);
            }
        }
        while (!remaining.IsEmpty);

        return ValueTask.CompletedTask;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask AwaitThenStreamRestAsync(ValueTask pending, ProcessingResponseKind kind, ReadOnlySequence<byte> remaining, bool endOfStream)
    {
        await pending.ConfigureAwait(false);
        while (!remaining.IsEmpty)
        {
            var last = NextStreamedPiece(kind, ref remaining, endOfStream);
            await WriteAsync(flush: last).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Builds the reply for the next piece of at most <see cref="ExtProcOptions.StreamedChunkSize"/>
    /// bytes (the response body's end carries the end-of-response metadata); true when it is the last piece.
    /// </summary>
    private bool NextStreamedPiece(ProcessingResponseKind kind, ref ReadOnlySequence<byte> remaining, bool endOfStream)
    {
        var take = Math.Min(remaining.Length, _options.StreamedChunkSize);
        var piece = remaining.Slice(0, take);
        remaining = remaining.Slice(take);
        var last = remaining.IsEmpty;
        Response.Reset(kind);
        Response.SetStreamedBody(piece, endOfStream && last);
        if (endOfStream && last && kind == ProcessingResponseKind.ResponseBody && _responseEndMetadata.Count > 0)
        {
            ApplyResponseEndMetadata();
        }

        return last;
    }

    /// <summary>Ends the HTTP request with a local reply (GIE: <c>inference error: …</c> bodies).</summary>
    public ValueTask SendImmediateResponseAsync(int httpStatus, ReadOnlySpan<byte> body, ReadOnlySpan<byte> details, ReadOnlySpan<byte> headerName = default, ReadOnlySpan<byte> headerValue = default)
    {
        Response.Reset(ProcessingResponseKind.ImmediateResponse);
        Response.SetImmediateResponse(httpStatus, body, details);
        if (!headerName.IsEmpty)
        {
            Response.SetHeader(headerName, headerValue);
        }

        if (_span is not null)
        {
            NoteImmediateResponse(body, details);
        }

        return SendAsync();
    }

    /// <summary>The default reply to <see cref="Message"/>: continue unchanged (echo, in full duplex).</summary>
    public ValueTask ContinueAsync()
    {
        switch (Message.Kind)
        {
            case ProcessingRequestKind.RequestHeaders:
                BeginResponse(ProcessingResponseKind.RequestHeaders);
                return SendAsync();
            case ProcessingRequestKind.ResponseHeaders:
                BeginResponse(ProcessingResponseKind.ResponseHeaders);
                return SendAsync();
            case ProcessingRequestKind.RequestBody:
                return ContinueBody(ExtProcDirection.Request);
            case ProcessingRequestKind.ResponseBody:
                return ContinueBody(ExtProcDirection.Response);
            case ProcessingRequestKind.RequestTrailers:
                return ContinueTrailersAsync(ExtProcDirection.Request);
            case ProcessingRequestKind.ResponseTrailers:
                return ContinueTrailersAsync(ExtProcDirection.Response);
            default:
                return ValueTask.CompletedTask;
        }
    }

    private ValueTask ContinueBody(ExtProcDirection direction)
    {
        if (BodyMode(direction) == BodySendMode.FullDuplexStreamed)
        {
            return SendStreamedBodyAsync(direction, Message.Body, Message.EndOfStream);
        }

        BeginResponse(direction == ExtProcDirection.Request ? ProcessingResponseKind.RequestBody : ProcessingResponseKind.ResponseBody);
        return SendAsync();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ContinueTrailersAsync(ExtProcDirection direction)
    {
        var state = direction == ExtProcDirection.Request ? _request : _response;
        if (BodyMode(direction) == BodySendMode.FullDuplexStreamed && state.BodyMessages > 0 && !state.BodyEndReplied)
        {
            // Trailers end the body: close the streamed body before answering them.
            await SendStreamedBodyAsync(direction, ReadOnlySequence<byte>.Empty, endOfStream: true).ConfigureAwait(false);
        }

        BeginResponse(direction == ExtProcDirection.Request ? ProcessingResponseKind.RequestTrailers : ProcessingResponseKind.ResponseTrailers);
        await SendAsync().ConfigureAwait(false);
    }

    private void ReceiveHeaders(ref DirectionState state, HeaderList keep, string name)
    {
        if (state.HeadersReceived)
        {
            ThrowProtocol($"a second {name}");
        }

        state.HeadersReceived = true;
        state.BodyEndReceived = Message.EndOfStream;
        var headers = Message.Headers;
        keep.Clear();
        for (var i = 0; i < headers.Count; i++)
        {
            keep.Add(headers.GetName(i), headers.GetValue(i));
        }
    }

    private void ReceiveBody(ref DirectionState state, string name)
    {
        if (state.BodyEndReceived || state.TrailersReceived)
        {
            ThrowProtocol($"{name} after the body ended");
        }

        // Headers may be configured SKIP: then the body is the first message of the direction.
        state.HeadersSkipped |= !state.HeadersReceived;
        state.BodyMessages++;
        state.BodyEndReceived = Message.EndOfStream;
    }

    private static void ReceiveTrailers(ref DirectionState state, string name)
    {
        if (state.TrailersReceived)
        {
            ThrowProtocol($"a second {name}");
        }

        state.HeadersSkipped |= !state.HeadersReceived;
        state.TrailersReceived = true;
    }

    private void CheckHeadersReply(ref DirectionState state, string name)
    {
        CheckNotFinished();
        if (!state.HeadersReceived)
        {
            ThrowOrdering($"a {name} reply before {name} arrived");
        }

        if (state.HeadersReplied)
        {
            ThrowOrdering($"a second {name} reply");
        }

        state.HeadersReplied = true;
    }

    private void CheckBufferedBodyReply(ref DirectionState state, BodySendMode mode, string name)
    {
        CheckNotFinished();
        if (mode == BodySendMode.FullDuplexStreamed)
        {
            ThrowOrdering($"a {name} reply in FULL_DUPLEX_STREAMED not made with SendStreamedBodyAsync");
        }

        if (!state.HeadersReplied && !state.HeadersSkipped)
        {
            ThrowOrdering($"a {name} reply before the headers reply");
        }

        if (state.BodyReplies >= state.BodyMessages)
        {
            ThrowOrdering($"more {name} replies than {name} messages");
        }

        state.BodyReplies++;
    }

    private void CheckTrailersReply(ref DirectionState state, BodySendMode mode, string name)
    {
        CheckNotFinished();
        if (!state.TrailersReceived || state.TrailersReplied)
        {
            ThrowOrdering($"a {name} reply without {name} to answer");
        }

        var bodyAnswered = mode == BodySendMode.FullDuplexStreamed
            ? state.BodyMessages == 0 || state.BodyEndReplied
            : state.BodyReplies == state.BodyMessages;
        if (!bodyAnswered || (!state.HeadersReplied && !state.HeadersSkipped))
        {
            ThrowOrdering($"a {name} reply before the body was answered");
        }

        state.TrailersReplied = true;
    }

    private void CheckNotFinished()
    {
        if (IsFinished)
        {
            ThrowOrdering("a reply after the immediate response");
        }
    }

    /// <summary>
    /// Writes <see cref="Response"/> through Grpc.AspNetCore's writer (the marshaller serialises it
    /// straight into the response pipe), flushing unless <paramref name="flush"/> is false.
    /// </summary>
    private ValueTask WriteAsync(bool flush)
    {
        if (ObservabilityMode)
        {
            return ValueTask.CompletedTask;
        }

        // After a reset, Grpc.AspNetCore's writer throws InvalidOperationException, which reads like
        // a processor bug; say what happened instead.
        _cancelled.ThrowIfCancellationRequested();
        if (_pendingFlush is { } pending)
        {
            if (!pending.IsCompleted)
            {
                return AwaitFlushThenWriteAsync(flush);
            }

            _pendingFlush = null;
            pending.GetAwaiter().GetResult();
        }

        var writer = _writer!;
        writer.WriteOptions = flush ? null : s_bufferHint;
        var written = Response.WriteCount;
        var write = writer.WriteAsync(Response);
        if (write.IsCompletedSuccessfully)
        {
            return ValueTask.CompletedTask;
        }

        if (!write.IsCompleted && Response.WriteCount != written)
        {
            // The reply is in the response pipe; only the flush waits (for Kestrel's frame writer to take
            // it). The phase can end now, so the received message is released instead of waiting
            // with it: under a burst on one core, that wait held a 220 KB message per stream.
            // The flush is awaited before the next write and before the next message is read.
            _pendingFlush = write;
            return ValueTask.CompletedTask;
        }

        return new ValueTask(write);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask AwaitFlushThenWriteAsync(bool flush)
    {
        await CompletePendingFlushAsync().ConfigureAwait(false);
        await WriteAsync(flush).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits for the last reply's flush (see <see cref="WriteAsync"/>): the stream reads no further
    /// message before its replies left, which keeps Kestrel's back-pressure on a slow client.
    /// </summary>
    internal ValueTask CompletePendingFlushAsync()
    {
        var pending = _pendingFlush;
        if (pending is null)
        {
            return ValueTask.CompletedTask;
        }

        _pendingFlush = null;
        return new ValueTask(pending);
    }

    /// <summary>On a failed stream: lets a pending flush finish (its error is the call's own), so the status goes out after it.</summary>
    internal async Task SettlePendingFlushAsync()
    {
        try
        {
            await CompletePendingFlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException or RpcException)
        {
        }
    }

    [DoesNotReturn]
    private static void ThrowOrdering(string what) =>
        throw new InvalidOperationException($"ext_proc ordering violation: the processor sent {what}.");

    [DoesNotReturn]
    private static void ThrowProtocol(string what) =>
        throw new RpcException(new Status(StatusCode.InvalidArgument, $"ext_proc protocol violation: Envoy sent {what}."));

    /// <summary>What arrived and what we answered in one direction.</summary>
    private struct DirectionState
    {
        public bool HeadersReceived;
        public bool HeadersSkipped;
        public bool HeadersReplied;
        public int BodyMessages;
        public int BodyReplies;
        public bool BodyEndReceived;
        public bool BodyEndReplied;
        public bool TrailersReceived;
        public bool TrailersReplied;
    }
}
