using System.Buffers;
using Grpc.Core;
using Microsoft.Extensions.ObjectPool;
using Runtime.ExtProc.Buffers;
using Runtime.Primitives.Buffers;

namespace Runtime.ExtProc.Stream;

/// <summary>
/// One received <c>ProcessingRequest</c>, copied out of the request pipe into a pooled array.
/// Grpc.AspNetCore hands the deserializer a slice of Kestrel's pipe and advances past it as soon
/// as the deserializer returns, so a body that must outlive that moment (it is echoed, buffered
/// or scanned while the next message is read) is copied once here. Decoding runs later, on the
/// stream, from this contiguous copy; the array goes back to the pool after the message's phase.
/// Only calls with <c>grpc-encoding</c> take this path (Grpc.AspNetCore decompresses them).
/// </summary>
internal sealed class ExtProcPayload
{
    private static readonly ObjectPool<ExtProcPayload> s_pool =
        new DefaultObjectPool<ExtProcPayload>(new DefaultPooledObjectPolicy<ExtProcPayload>(), 4096);

    private byte[]? _array;
    private int _length;

    /// <summary>The message's bytes; valid until <see cref="Return"/>.</summary>
    public ReadOnlySequence<byte> Message => _array is null ? ReadOnlySequence<byte>.Empty : new(_array, 0, _length);

    /// <summary>Grpc.AspNetCore's marshaller: copies the payload; <see cref="ProcessingResponseBuilderMarshaller"/> for the other way.</summary>
    public static readonly Marshaller<ExtProcPayload> Marshaller = Marshallers.Create<ExtProcPayload>(
        static (_, _) => throw new NotSupportedException("ProcessingRequest is only received."),
        static context => Copy(context.PayloadAsReadOnlySequence()));

    internal static ExtProcPayload Copy(in ReadOnlySequence<byte> payload)
    {
        var message = s_pool.Get();
        var length = checked((int)payload.Length);
        if (length > 0)
        {
            message._array = PooledBuffers.RentMessage(length);
            payload.CopyTo(message._array);
        }

        message._length = length;
        return message;
    }

    /// <summary>Gives the array and this holder back to their pools.</summary>
    public void Return()
    {
        if (_array is { } array)
        {
            _array = null;
            PooledBuffers.ReturnMessage(array);
        }

        _length = 0;
        s_pool.Return(this);
    }
}
