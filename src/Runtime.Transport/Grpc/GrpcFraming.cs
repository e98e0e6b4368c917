using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.IO.Pipelines;

namespace Runtime.Transport.Grpc;

/// <summary>
/// gRPC length-prefixed message framing: 1 byte compressed flag, 4 bytes big-endian length,
/// then the message (grpc/doc/PROTOCOL-HTTP2.md).
/// </summary>
public static class GrpcFraming
{
    public const int HeaderSize = 5;

    /// <summary>
    /// Takes one complete message off the front of <paramref name="buffer"/>. Returns false when
    /// more bytes are needed. Throws <see cref="GrpcException"/> as soon as the prefix shows a
    /// compressed message or a length over <paramref name="maxMessageSize"/>, so an oversized
    /// message is refused before its bytes are buffered.
    /// </summary>
    public static bool TryReadMessage(ref ReadOnlySequence<byte> buffer, int maxMessageSize, out ReadOnlySequence<byte> message)
    {
        if (buffer.Length < HeaderSize)
        {
            message = default;
            return false;
        }

        // The prefix may straddle pipe segments (Kestrel's are 4 KB): copy it out then.
        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);

        if (header[0] != 0)
        {
            ThrowCompressed(header[0]);
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (length > (uint)maxMessageSize)
        {
            ThrowTooLarge(length, maxMessageSize);
        }

        if (buffer.Length - HeaderSize < length)
        {
            message = default;
            return false;
        }

        message = buffer.Slice(HeaderSize, length);
        buffer = buffer.Slice(message.End);
        return true;
    }

    /// <summary>Writes the 5-byte prefix of an uncompressed message of <paramref name="length"/> bytes.</summary>
    public static void WriteHeader(IBufferWriter<byte> writer, int length)
    {
        var span = writer.GetSpan(HeaderSize);
        span[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
        writer.Advance(HeaderSize);
    }

    /// <summary>Writes one whole framed message (small messages such as health responses).</summary>
    public static void WriteMessage(PipeWriter writer, ReadOnlySpan<byte> message)
    {
        WriteHeader(writer, message.Length);
        writer.Write(message);
    }

    [DoesNotReturn]
    private static void ThrowCompressed(byte flag) =>
        throw new GrpcException(
            GrpcStatusCode.Unimplemented,
            flag == 1
                ? "Compressed messages are not supported; send messages with grpc-encoding identity."
                : "Invalid compressed flag in message prefix.");

    [DoesNotReturn]
    private static void ThrowTooLarge(uint length, int max) =>
        throw new GrpcException(
            GrpcStatusCode.ResourceExhausted,
            $"Received message larger than max ({length} vs. {max}).");
}
