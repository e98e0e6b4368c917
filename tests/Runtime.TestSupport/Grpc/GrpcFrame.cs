using System.Buffers.Binary;
using Google.Protobuf;

namespace Runtime.TestSupport.Grpc;

/// <summary>One gRPC length-prefixed message: the compressed flag and the payload bytes.</summary>
public readonly record struct GrpcFrame(byte Flag, ReadOnlyMemory<byte> Payload)
{
    public bool IsCompressed => Flag != 0;
}

/// <summary>
/// Encodes and decodes the gRPC length-prefixed message format: 1 byte compressed flag,
/// 4 bytes big-endian length, then the payload. The encoders can also lie on purpose
/// (any flag, any declared length) so tests can build malformed input.
/// </summary>
public static class GrpcFraming
{
    public const int PrefixLength = 5;

    public static byte[] Encode(IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var size = message.CalculateSize();
        var buffer = new byte[PrefixLength + size];
        WritePrefix(buffer, 0, (uint)size);
        message.WriteTo(buffer.AsSpan(PrefixLength));
        return buffer;
    }

    public static byte[] Encode(ReadOnlySpan<byte> payload, byte flag = 0) =>
        EncodeWithDeclaredLength(payload, (uint)payload.Length, flag);

    /// <summary>
    /// Writes a prefix that declares <paramref name="declaredLength"/> bytes whatever the
    /// payload really holds: truncated frames and oversize length prefixes.
    /// </summary>
    public static byte[] EncodeWithDeclaredLength(ReadOnlySpan<byte> payload, uint declaredLength, byte flag = 0)
    {
        var buffer = new byte[PrefixLength + payload.Length];
        WritePrefix(buffer, flag, declaredLength);
        payload.CopyTo(buffer.AsSpan(PrefixLength));
        return buffer;
    }

    public static byte[] Concat(params IEnumerable<byte[]> frames)
    {
        var total = frames.Sum(f => f.Length);
        var buffer = new byte[total];
        var offset = 0;
        foreach (var frame in frames)
        {
            frame.CopyTo(buffer, offset);
            offset += frame.Length;
        }

        return buffer;
    }

    /// <summary>Decodes a complete sequence of frames; throws if the data ends mid-frame.</summary>
    public static IReadOnlyList<GrpcFrame> DecodeAll(ReadOnlyMemory<byte> data)
    {
        var frames = new List<GrpcFrame>();
        while (!data.IsEmpty)
        {
            if (data.Length < PrefixLength)
            {
                throw new InvalidDataException($"Truncated gRPC prefix: {data.Length} trailing byte(s).");
            }

            var flag = data.Span[0];
            var length = BinaryPrimitives.ReadUInt32BigEndian(data.Span[1..PrefixLength]);
            if (length > (uint)(data.Length - PrefixLength))
            {
                throw new InvalidDataException(
                    $"Truncated gRPC message: prefix declares {length} bytes, {data.Length - PrefixLength} remain.");
            }

            frames.Add(new GrpcFrame(flag, data.Slice(PrefixLength, (int)length)));
            data = data[(PrefixLength + (int)length)..];
        }

        return frames;
    }

    private static void WritePrefix(Span<byte> destination, byte flag, uint length)
    {
        destination[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..PrefixLength], length);
    }
}
