using System.Buffers;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.ObjectPool;
using Runtime.BodyParsing;
using Runtime.ExtProc.Buffers;
using Runtime.ExtProc.Codec;
using Runtime.ExtProc.Stream;

namespace Runtime.Bbr;

/// <summary>
/// Body-based routing over ext_proc. Routing needs the model, which may sit at the end of the
/// body, so the headers reply waits for the whole request body:
/// <list type="bullet">
/// <item>FULL_DUPLEX_STREAMED: chunks are accumulated; at end of stream we send the headers reply
/// (routing headers + <c>clear_route_cache</c>) and then the body — the original bytes, or the
/// body with only the changed values rewritten — in ≤ 62,000 B pieces.</item>
/// <item>BUFFERED: the headers reply is a plain continue; the routing headers (and any body
/// rewrite, with its content-length) ride on the body reply, which Envoy still applies.</item>
/// </list>
/// The response path is echoed the moment each chunk arrives (SSE never waits); response
/// processors see the final JSON body or last SSE event when the response ends.
/// </summary>
public sealed partial class BbrExtProcProcessor : IExtProcProcessor
{
    private readonly BbrChain _chain;
    private readonly BbrMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ObjectPool<Handler> _handlers;

    public BbrExtProcProcessor(BbrChain chain, BbrMetrics metrics, ILogger logger)
    {
        _chain = chain;
        _metrics = metrics;
        _metrics.PublishInfo();
        _logger = logger;
        _handlers = new DefaultObjectPool<Handler>(new HandlerPolicy(this), 1024);
    }

    public string Name => "body-based-routing";

    public ExtProcStreamHandler RentHandler() => _handlers.Get();

    public void ReturnHandler(ExtProcStreamHandler handler) => _handlers.Return((Handler)handler);

    private sealed class HandlerPolicy(BbrExtProcProcessor owner) : PooledObjectPolicy<Handler>
    {
        public override Handler Create() => new(owner);

        public override bool Return(Handler obj)
        {
            obj.Reset();
            return true;
        }
    }

    private sealed class Handler(BbrExtProcProcessor owner) : ExtProcStreamHandler
    {
        private readonly BbrRequest _request = new(owner._chain);
        private readonly BbrResponse _response = new();
        private readonly SseTail _tail = new();
        private byte[]? _rewritten;
        private bool _routed;

        public override ValueTask OnRequestHeadersAsync(ExtProcStream stream)
        {
            // No body (GET, or headers end the stream): nothing to route on; let it through.
            if (stream.Message.EndOfStream || stream.RequestBodyMode is not BodySendMode.FullDuplexStreamed)
            {
                return stream.ContinueAsync();
            }

            return ValueTask.CompletedTask;
        }

        public override ValueTask OnRequestBodyAsync(ExtProcStream stream)
        {
            switch (stream.RequestBodyMode)
            {
                case BodySendMode.Buffered or BodySendMode.BufferedPartial:
                    // One message holds all the body Envoy will show us: route on it, no copy.
                    return RouteAsync(stream, stream.Message.Body);
                case BodySendMode.FullDuplexStreamed:
                    break;
                default:
                    // STREAMED: chunks go upstream as they come, so routing headers could not apply.
                    return stream.ContinueAsync();
            }

            if (!stream.Message.EndOfStream)
            {
                stream.RequestBody.Append(stream.Message.Body);
                return ValueTask.CompletedTask;
            }

            if (stream.RequestBody.IsEmpty)
            {
                // The whole body came in one chunk: no copy.
                return RouteAsync(stream, stream.Message.Body);
            }

            stream.RequestBody.Append(stream.Message.Body);
            return RouteAsync(stream, stream.RequestBody.AsSequence());
        }

        public override async ValueTask OnRequestTrailersAsync(ExtProcStream stream)
        {
            // Trailers end a full-duplex body that had no end_of_stream chunk.
            if (stream.RequestBodyMode == BodySendMode.FullDuplexStreamed && !_routed)
            {
                await RouteAsync(stream, stream.RequestBody.AsSequence()).ConfigureAwait(false);
                if (stream.IsFinished)
                {
                    return;
                }
            }

            await stream.ContinueAsync().ConfigureAwait(false);
        }

        public override ValueTask OnResponseHeadersAsync(ExtProcStream stream)
        {
            _response.IsEventStream = stream.ResponseHeaders.TryGetValue("content-type"u8, out var type)
                && type.StartsWith("text/event-stream"u8);
            return stream.ContinueAsync();
        }

        public override ValueTask OnResponseBodyAsync(ExtProcStream stream)
        {
            if (owner._chain.ResponseProcessors.Count > 0)
            {
                if (_response.IsEventStream)
                {
                    _tail.Append(stream.Message.Body);
                }
                else
                {
                    stream.ResponseBody.Append(stream.Message.Body);
                }

                if (stream.Message.EndOfStream)
                {
                    RunResponseProcessors(stream);
                }
            }

            // Echo at once: a token stream must reach the client as it is produced.
            return stream.ContinueAsync();
        }

        public override void OnStreamEnd(ExtProcStream stream, bool aborted) => Reset();

        public void Reset()
        {
            _request.Reset();
            _tail.Reset();
            _response.FinalJson = default;
            _response.IsEventStream = false;
            _routed = false;
            if (_rewritten is not null)
            {
                PooledBuffers.Return(_rewritten);
                _rewritten = null;
            }
        }

        private async ValueTask RouteAsync(ExtProcStream stream, ReadOnlySequence<byte> body)
        {
            _routed = true;
            var scanner = _request.Scanner;
            if (scanner.Scan(body) != JsonBodyStatus.Ok)
            {
                await RejectAsync(stream, 400, "invalid request body: " + scanner.StatusText).ConfigureAwait(false);
                return;
            }

            _request.Begin(stream.RequestHeaders);
            foreach (var processor in owner._chain.RequestProcessors)
            {
                var started = Stopwatch.GetTimestamp();
                var ok = processor.ProcessRequest(_request);
                owner._metrics.RecordPluginDuration(BbrMetrics.RequestExtensionPoint, processor, Stopwatch.GetElapsedTime(started).TotalSeconds);
                if (!ok)
                {
                    await RejectAsync(stream, _request.RejectStatus, _request.RejectReason ?? "rejected").ConfigureAwait(false);
                    return;
                }
            }

            var outgoing = body;
            var rewriter = _request.Rewriter;
            if (rewriter.HasChanges)
            {
                var length = checked((int)rewriter.OutputLength);
                _rewritten = PooledBuffers.Rent(Math.Max(1, length));
                rewriter.CopyTo(_rewritten);
                outgoing = new ReadOnlySequence<byte>(_rewritten, 0, length);
            }

            var fullDuplex = stream.RequestBodyMode == BodySendMode.FullDuplexStreamed;
            var reply = stream.BeginResponse(fullDuplex ? ProcessingResponseKind.RequestHeaders : ProcessingResponseKind.RequestBody);
            WriteRouting(reply, rewriter.HasChanges ? outgoing.Length : -1);
            if (!fullDuplex && rewriter.HasChanges)
            {
                reply.SetBody(outgoing);
            }

            await stream.SendAsync().ConfigureAwait(false);
            if (fullDuplex)
            {
                await stream.SendStreamedBodyAsync(ExtProcDirection.Request, outgoing, endOfStream: true).ConfigureAwait(false);
            }
        }

        private void WriteRouting(ProcessingResponseBuilder reply, long newContentLength)
        {
            Span<byte> name = stackalloc byte[256];
            for (var i = 0; i < _request.SetHeaderCount; i++)
            {
                var (header, value) = _request.GetSetHeader(i);
                var n = Lower(header, name);
                reply.SetHeader(name[..n], value.Span);
            }

            foreach (var header in _request.RemovedHeaders)
            {
                var n = Lower(header, name);
                reply.RemoveHeader(name[..n]);
            }

            if (newContentLength >= 0)
            {
                Span<byte> digits = stackalloc byte[20];
                newContentLength.TryFormat(digits, out var written, default, System.Globalization.CultureInfo.InvariantCulture);
                reply.SetHeader("content-length"u8, digits[..written]);
            }

            // clear_route_cache only works when the reply carries a header mutation.
            reply.EnsureHeaderMutation();
            reply.ClearRouteCache = true;
        }

        private ValueTask RejectAsync(ExtProcStream stream, int status, string reason)
        {
            Log.Rejected(owner._logger, status, reason);
            var body = Encoding.UTF8.GetBytes($"inference error: {StatusName(status)} - {reason}");
            return stream.SendImmediateResponseAsync(status, body, Encoding.UTF8.GetBytes(reason));
        }

        private void RunResponseProcessors(ExtProcStream stream)
        {
            _response.FinalJson = _response.IsEventStream ? _tail.LastEventJson() : stream.ResponseBody.AsSequence();
            foreach (var processor in owner._chain.ResponseProcessors)
            {
                var started = Stopwatch.GetTimestamp();
                processor.ProcessResponse(_response);
                owner._metrics.RecordPluginDuration(BbrMetrics.ResponseExtensionPoint, processor, Stopwatch.GetElapsedTime(started).TotalSeconds);
            }
        }

        private static int Lower(string header, Span<byte> into)
        {
            // Envoy expects lower-case header names in mutations (HTTP/2 rules).
            var n = Encoding.ASCII.GetBytes(header, into);
            for (var i = 0; i < n; i++)
            {
                if ((uint)(into[i] - 'A') <= 'Z' - 'A')
                {
                    into[i] = (byte)(into[i] | 0x20);
                }
            }

            return n;
        }

        private static string StatusName(int status) => status switch
        {
            400 => "BadRequest",
            429 => "TooManyRequests",
            503 => "ServiceUnavailable",
            _ => "Internal",
        };
    }

    private static partial class Log
    {
        [LoggerMessage(4101, LogLevel.Debug, "Body-based routing rejected a request with {Status}: {Reason}")]
        public static partial void Rejected(ILogger logger, int status, string reason);
    }
}
