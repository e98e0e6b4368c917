using System.Buffers;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Runtime.BodyParsing;
using Runtime.Primitives.Buffers;
using Runtime.ExtProc.Codec;
using Runtime.ExtProc.Processing;
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
internal sealed partial class BbrExtProcProcessor : PooledProcessor<BbrExtProcProcessor.Handler>
{
    private readonly BbrChain _chain;
    private readonly BbrMetrics _metrics;
    private readonly ILogger _logger;

    public BbrExtProcProcessor(BbrChain chain, BbrMetrics metrics, ILogger logger)
    {
        _chain = chain;
        _metrics = metrics;
        _metrics.PublishInfo();
        _logger = logger;
    }

    public override string Name => "body-based-routing";

    protected override Handler CreateHandler() => new(this);

    public sealed class Handler : RequestRoutingHandler, IDisposable
    {
        private readonly BbrExtProcProcessor _owner;
        private readonly BbrRequest _request;
        private readonly BbrResponse _response = new();
        private readonly SseTail _tail = new();
        private byte[]? _rewritten;

        internal Handler(BbrExtProcProcessor owner)
        {
            _owner = owner;
            _request = new BbrRequest(owner._chain);
        }

        // Nothing to route on without the whole body: such requests pass through unchanged.
        protected override bool DecidesWithoutBody => false;

        protected override ValueTask OnRequestReadyAsync(ExtProcStream stream, ReadOnlySequence<byte> body, bool hasBody) => RouteAsync(stream, body, hasBody);

        public override ValueTask OnResponseHeadersAsync(ExtProcStream stream)
        {
            _response.IsEventStream = stream.ResponseHeaders.TryGetValue("content-type"u8, out var type)
                && type.StartsWith("text/event-stream"u8);
            return stream.ContinueAsync();
        }

        public override ValueTask OnResponseBodyAsync(ExtProcStream stream)
        {
            if (_owner._chain.ResponseProcessors.Count > 0)
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

        public void Dispose()
        {
            Reset();
            _request.Rewriter.Dispose();
        }

        public override void Reset()
        {
            base.Reset();
            _request.Reset();
            _tail.Reset();
            _response.FinalJson = default;
            _response.IsEventStream = false;
            ReturnRewritten();
        }

        /// <summary>The rewritten body goes back once it is sent (or the stream ends).</summary>
        private void ReturnRewritten()
        {
            if (_rewritten is not null)
            {
                PooledBuffers.Return(_rewritten);
                _rewritten = null;
            }
        }

        private async ValueTask RouteAsync(ExtProcStream stream, ReadOnlySequence<byte> body, bool hasBody)
        {
            var scanner = _request.Scanner;
            if (scanner.Scan(body) != JsonBodyStatus.Ok)
            {
                // Go's message (pkg/bbr/handlers/request.go), then what exactly is wrong.
                await FailAsync(stream, 400, "failed to parse request body: " + scanner.StatusText).ConfigureAwait(false);
                return;
            }

            _request.Begin(stream.RequestHeaders);
            foreach (var processor in _owner._chain.RequestProcessors)
            {
                var started = Stopwatch.GetTimestamp();
                var ok = processor.ProcessRequest(_request);
                _owner._metrics.RecordPluginDuration(BbrMetrics.RequestExtensionPoint, processor, Stopwatch.GetElapsedTime(started).TotalSeconds);
                if (!ok)
                {
                    await FailAsync(stream, _request.RejectStatus, _request.RejectReason ?? "rejected").ConfigureAwait(false);
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

            var reply = BeginDecision(stream, hasBody);
            WriteRouting(reply, rewriter.HasChanges ? outgoing.Length : -1);
            await SendDecisionAsync(stream, reply, hasBody, outgoing, rewriter.HasChanges).ConfigureAwait(false);
            ReturnRewritten();
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

        private ValueTask FailAsync(ExtProcStream stream, int status, string reason)
        {
            Log.Rejected(_owner._logger, status, reason);
            return RejectAsync(stream, new ImmediateError(status, reason));
        }

        private void RunResponseProcessors(ExtProcStream stream)
        {
            _response.FinalJson = _response.IsEventStream ? _tail.LastEventJson() : stream.ResponseBody.AsSequence();
            foreach (var processor in _owner._chain.ResponseProcessors)
            {
                var started = Stopwatch.GetTimestamp();
                processor.ProcessResponse(_response);
                _owner._metrics.RecordPluginDuration(BbrMetrics.ResponseExtensionPoint, processor, Stopwatch.GetElapsedTime(started).TotalSeconds);
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
    }

    private static partial class Log
    {
        [LoggerMessage(4002, LogLevel.Debug, "Body-based routing rejected a request with {Status}: {Reason}")]
        public static partial void Rejected(ILogger logger, int status, string reason);
    }
}
