using System.Numerics;
using System.Runtime.CompilerServices;

namespace Runtime.ExtProc.Codec;

/// <summary>Protobuf wire-format primitives shared by the decoder and the response writer.</summary>
internal static class WireFormat
{
    public const int WireTypeVarint = 0;
    public const int WireTypeFixed64 = 1;
    public const int WireTypeLengthDelimited = 2;
    public const int WireTypeStartGroup = 3;
    public const int WireTypeEndGroup = 4;
    public const int WireTypeFixed32 = 5;

    /// <summary>A varint never needs more than 10 bytes (64 bits, 7 per byte).</summary>
    public const int MaxVarintLength = 10;

    /// <summary>Bytes needed to encode <paramref name="value"/> as a varint (1..10).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int VarintSize(ulong value) => ((BitOperations.Log2(value | 1) * 9) + 73) >> 6;

    /// <summary>
    /// Varint size of an <c>int32</c>/enum field value: negative values are sign-extended to
    /// 64 bits on the wire, so they always take 10 bytes (as Google.Protobuf writes them).
    /// </summary>
    public static int Int32Size(int value) => VarintSize((ulong)(long)value);

    /// <summary>Size of a length-delimited field with a one-byte tag (every field we write has number &lt; 16).</summary>
    public static long LengthDelimitedSize(long contentLength) => 1 + VarintSize((ulong)contentLength) + contentLength;

    /// <summary>
    /// Decodes a varint from the start of <paramref name="buffer"/>. Returns the number of bytes
    /// consumed, 0 when the buffer ends inside the varint, or -1 when it is longer than 10 bytes.
    /// </summary>
    public static int TryDecodeVarint(ReadOnlySpan<byte> buffer, out ulong value)
    {
        ulong result = 0;
        int shift = 0;
        for (int i = 0; i < MaxVarintLength; i++)
        {
            if ((uint)i >= (uint)buffer.Length)
            {
                value = 0;
                return 0;
            }

            uint b = buffer[i];
            // Bits beyond 64 in the 10th byte are dropped, as Google.Protobuf does.
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                value = result;
                return i + 1;
            }

            shift += 7;
        }

        value = 0;
        return -1;
    }

    /// <summary>Writes <paramref name="value"/> as a varint; the caller guarantees 10 bytes of room.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WriteVarint(Span<byte> destination, ulong value)
    {
        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }
}
