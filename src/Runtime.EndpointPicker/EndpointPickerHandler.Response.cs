using System.Buffers;
using System.Diagnostics;
using System.Text;
using Runtime.BodyParsing;
using Runtime.EndpointPicker.Plugins;
using Runtime.EndpointPicker.Requests;
using Runtime.Endpoints;
using Runtime.ExtProc.Codec;
using Runtime.ExtProc.Stream;
using Runtime.Telemetry.Labels;

namespace Runtime.EndpointPicker;

/// <summary>
/// The response side: echo as it arrives, put a rewritten model name back for the client, read
/// token usage for metrics and reporters, and count the load where Envoy really sent it.
/// </summary>
internal sealed partial class EndpointPickerHandler
{
    public override ValueTask OnResponseHeadersAsync(ExtProcStream stream)
    {
        _eventStream = stream.ResponseHeaders.TryGetValue(EndpointPickerHeaders.ContentType, out var type) && type.StartsWith("text/event-stream"u8);
        _responseHeadersAt = Stopwatch.GetTimestamp();
        MoveInFlightToServed(stream);

        // The body will change length: drop content-length so the client does not read a wrong size.
        var dropLength = _restorer.IsActive && stream.ResponseBodyMode is BodySendMode.FullDuplexStreamed or BodySendMode.Buffered or BodySendMode.BufferedPartial && !stream.Message.EndOfStream;
        var writeHeaders = _context.ResponseHeaderWriters.Length > 0 && _inFlight is not null;
        if (!dropLength && !_context.VerifyServedEndpoint && !writeHeaders)
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

        if (writeHeaders)
        {
            WritePluginHeaders(reply, _inFlight!);
        }

        return stream.SendAsync();
    }

    /// <summary>Headers plugins derive from the serving endpoint (e.g. session-affinity's x-session-token).</summary>
    private void WritePluginHeaders(ProcessingResponseBuilder reply, EndpointState served)
    {
        Span<byte> value = stackalloc byte[1024];
        foreach (var writer in _context.ResponseHeaderWriters)
        {
            var length = writer.WriteValue(_result, served, value);
            if (length > 0)
            {
                reply.SetHeader(writer.HeaderName, value[..length]);
            }
        }
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
        var read = _parsing == RequestParsing.VllmGrpc
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
}
