using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;

namespace Runtime.Transport.Grpc;

/// <summary>
/// One gRPC call on an HTTP/2 stream: reads length-prefixed messages straight from the request
/// pipe and gives handlers the response pipe. Reading and writing are independent, so a
/// bidirectional call is full duplex. Pooled: one instance serves many calls in turn.
/// </summary>
public sealed class GrpcCall
{
    private PipeReader? _reader;
    private ReadOnlySequence<byte> _buffer;
    private bool _holdingBuffer;
    private bool _requestCompleted;

    public HttpContext HttpContext { get; private set; } = null!;

    /// <summary>Response pipe. Frame messages with <see cref="GrpcFraming"/> and flush with <see cref="FlushAsync"/>.</summary>
    public PipeWriter ResponseWriter { get; private set; } = null!;

    /// <summary>Cancelled when the client resets the stream, the deadline passes, or the server shuts down hard.</summary>
    public CancellationToken CallCancelled { get; private set; }

    public int MaxReceiveMessageSize { get; private set; }

    /// <summary>The last message read; valid until the next <see cref="ReadMessageAsync"/>.</summary>
    public ReadOnlySequence<byte> Message { get; private set; }

    internal void Start(HttpContext context, int maxReceiveMessageSize, CancellationToken callCancelled)
    {
        HttpContext = context;
        _reader = context.Request.BodyReader;
        ResponseWriter = context.Response.BodyWriter;
        MaxReceiveMessageSize = maxReceiveMessageSize;
        CallCancelled = callCancelled;
    }

    internal void Reset()
    {
        if (_holdingBuffer)
        {
            _reader!.AdvanceTo(_buffer.End);
        }

        _holdingBuffer = false;
        _requestCompleted = false;
        _buffer = default;
        _reader = null;
        Message = default;
        ResponseWriter = null!;
        HttpContext = null!;
        CallCancelled = default;
    }

    /// <summary>
    /// Reads the next request message into <see cref="Message"/>. Returns false once the client
    /// has half-closed cleanly. Throws <see cref="GrpcException"/> for a truncated, compressed or
    /// oversized message. Messages already buffered are returned without touching the pipe.
    /// </summary>
    public ValueTask<bool> ReadMessageAsync()
    {
        if (_holdingBuffer && GrpcFraming.TryReadMessage(ref _buffer, MaxReceiveMessageSize, out var message))
        {
            Message = message;
            return new ValueTask<bool>(true);
        }

        return ReadMessageSlowAsync();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReadMessageSlowAsync()
    {
        var reader = _reader!;
        while (true)
        {
            if (_holdingBuffer)
            {
                // Everything before _buffer.Start was handed out; the rest is an incomplete frame.
                reader.AdvanceTo(_buffer.Start, _buffer.End);
                _holdingBuffer = false;
            }

            if (_requestCompleted)
            {
                Message = default;
                return false;
            }

            var result = await reader.ReadAsync(CallCancelled).ConfigureAwait(false);
            _buffer = result.Buffer;
            _holdingBuffer = true;
            if (result.IsCanceled)
            {
                throw new OperationCanceledException(CallCancelled);
            }

            if (GrpcFraming.TryReadMessage(ref _buffer, MaxReceiveMessageSize, out var message))
            {
                Message = message;
                return true;
            }

            if (result.IsCompleted)
            {
                _requestCompleted = true;
                if (!_buffer.IsEmpty)
                {
                    throw new GrpcException(GrpcStatusCode.Internal, "Incomplete message: the request stream ended inside a frame.");
                }
            }
        }
    }

    /// <summary>Flushes written responses to the client. Returns false when the client has gone.</summary>
    public ValueTask<bool> FlushAsync()
    {
        var flush = ResponseWriter.FlushAsync(CallCancelled);
        if (flush.IsCompletedSuccessfully)
        {
            var result = flush.Result;
            return new ValueTask<bool>(!result.IsCanceled && !result.IsCompleted);
        }

        return AwaitFlushAsync(flush);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<bool> AwaitFlushAsync(ValueTask<FlushResult> flush)
    {
        var result = await flush.ConfigureAwait(false);
        return !result.IsCanceled && !result.IsCompleted;
    }
}
