using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Grpc.Core;

namespace Runtime.ExtProc.Stream;

/// <summary>
/// The <c>ProcessingRequest</c> payloads of one call, one at a time. <see cref="Current"/> stays
/// valid until <see cref="Release"/>, which the stream calls once the message's phase is over.
/// Transport failures come out as the statuses Grpc.AspNetCore's reader gives them: an oversized
/// message is RESOURCE_EXHAUSTED, a malformed frame or a cut-off message INTERNAL, a reset
/// request stream CANCELLED.
/// </summary>
internal abstract class RequestMessages
{
    public ReadOnlySequence<byte> Current { get; protected set; }

    /// <summary>Releases the current message (if not yet) and waits for the next; false at the end of the request stream.</summary>
    public abstract ValueTask<bool> MoveNextAsync();

    /// <summary>Gives back the current message's memory; a second call does nothing.</summary>
    public abstract void Release();

    internal static RpcException TooLarge() =>
        new(new Status(StatusCode.ResourceExhausted, "Received message exceeds the maximum configured message size."));

    internal static RpcException Malformed(string reason) => new(new Status(StatusCode.Internal, "Malformed message: " + reason));

    internal static RpcException EndedAbnormally(IOException ex) =>
        new(new Status(StatusCode.Cancelled, "The request stream ended abnormally: " + ex.Message));
}

/// <summary>
/// Reads gRPC length-prefixed messages straight off the request body pipe: a message is decoded,
/// buffered or echoed where Kestrel received it, and the pipe advances past it only when its phase
/// is over. Grpc.AspNetCore's own reader would copy each message out first (one more pass over a
/// 220 KB prompt per exchange). Used for calls without <c>grpc-encoding</c>, which is how Envoy
/// calls; a compressed call goes through <see cref="GrpcReaderMessages"/> instead.
/// </summary>
internal sealed class PipeRequestMessages : RequestMessages
{
    private const int HeaderLength = 5;

    private PipeReader? _reader;
    private int _maxMessageSize;
    private bool _holding;

    public void Start(PipeReader reader, int maxMessageSize)
    {
        _reader = reader;
        _maxMessageSize = maxMessageSize;
        _holding = false;
        Current = default;
    }

    /// <summary>Releases what is held and forgets the pipe (the object goes back to its pool).</summary>
    public void Stop()
    {
        Release();
        _reader = null;
    }

    public override void Release()
    {
        if (!_holding)
        {
            return;
        }

        _holding = false;
        var end = Current.End;
        Current = default;
        try
        {
            _reader!.AdvanceTo(end);
        }
        catch (IOException)
        {
            // The client reset the stream: Kestrel dropped its data already, and the call ends
            // with what it was doing (a processor's own failure is not to be masked by this).
        }
    }

    public override ValueTask<bool> MoveNextAsync()
    {
        Release();
        try
        {
            var read = _reader!.ReadAsync();
            while (read.IsCompletedSuccessfully)
            {
                if (TryTake(read.Result, out var hasMessage))
                {
                    return new ValueTask<bool>(hasMessage);
                }

                read = _reader.ReadAsync();
            }

            return ReadUntilMessageAsync(read);
        }
        catch (IOException ex)
        {
            throw EndedAbnormally(ex);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReadUntilMessageAsync(ValueTask<ReadResult> read)
    {
        try
        {
            while (true)
            {
                if (TryTake(await read.ConfigureAwait(false), out var hasMessage))
                {
                    return hasMessage;
                }

                read = _reader!.ReadAsync();
            }
        }
        catch (IOException ex)
        {
            throw EndedAbnormally(ex);
        }
    }

    /// <summary>
    /// Takes the next whole message out of <paramref name="result"/>, or reports the end of the
    /// stream; false (with the pipe advanced) when more bytes must arrive first.
    /// </summary>
    private bool TryTake(ReadResult result, out bool hasMessage)
    {
        var buffer = result.Buffer;
        if (result.IsCanceled)
        {
            _reader!.AdvanceTo(buffer.Start);
            throw new OperationCanceledException("The request stream's read was cancelled.");
        }

        if (buffer.Length >= HeaderLength)
        {
            Span<byte> header = stackalloc byte[HeaderLength];
            buffer.Slice(0, HeaderLength).CopyTo(header);
            var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
            var problem = header[0] switch
            {
                0 when length > (uint)_maxMessageSize => TooLarge(),
                0 => null,
                // A compressed message in a call that named no grpc-encoding, as Grpc.AspNetCore words it.
                1 => new RpcException(new Status(StatusCode.Internal, "Request did not include grpc-encoding value with compressed message.")),
                _ => Malformed("Unexpected compressed flag value in message header."),
            };
            if (problem is not null)
            {
                _reader!.AdvanceTo(buffer.Start);
                throw problem;
            }

            if (buffer.Length - HeaderLength >= length)
            {
                Current = buffer.Slice(HeaderLength, length);
                _holding = true;
                hasMessage = true;
                return true;
            }
        }

        if (result.IsCompleted)
        {
            _reader!.AdvanceTo(buffer.End);
            if (!buffer.IsEmpty)
            {
                throw new RpcException(new Status(StatusCode.Internal, "Incomplete message."));
            }

            hasMessage = false;
            return true;
        }

        _reader!.AdvanceTo(buffer.Start, buffer.End);
        hasMessage = false;
        return false;
    }
}

/// <summary>
/// The messages Grpc.AspNetCore's reader hands over, each copied into a pooled
/// <see cref="ExtProcPayload"/>: for calls with <c>grpc-encoding</c> (it decompresses them) and for
/// tests that script a reader.
/// </summary>
internal sealed class GrpcReaderMessages(IAsyncStreamReader<ExtProcPayload> requests) : RequestMessages
{
    private ExtProcPayload? _payload;

    public override void Release()
    {
        if (_payload is { } payload)
        {
            _payload = null;
            Current = default;
            payload.Return();
        }
    }

    public override ValueTask<bool> MoveNextAsync()
    {
        Release();
        var next = requests.MoveNext(CancellationToken.None);
        return next.IsCompletedSuccessfully ? new ValueTask<bool>(Take(next.Result)) : AwaitNextAsync(next);
    }

    private bool Take(bool hasMessage)
    {
        if (hasMessage)
        {
            _payload = requests.Current;
            Current = _payload.Message;
        }

        return hasMessage;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> AwaitNextAsync(Task<bool> next)
    {
        try
        {
            return Take(await next.ConfigureAwait(false));
        }
        catch (IOException ex) when (ex.Message.StartsWith("Message too large", StringComparison.Ordinal))
        {
            // A length prefix beyond 2 GiB: Grpc.AspNetCore refuses it before its own size check.
            throw TooLarge();
        }
        catch (IOException ex)
        {
            throw EndedAbnormally(ex);
        }
        catch (InvalidDataException ex)
        {
            throw Malformed(ex.Message);
        }
    }
}
