using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Runtime.Primitives.Wire;

/// <summary>
/// Protobuf wire-format primitives, written once for every hand-written codec in the process: the
/// ext_proc decoder and response writer, gRPC health messages, metadata structs, vLLM's gRPC frames.
/// </summary>
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

    /// <summary>Reads a varint at <paramref name="position"/> and moves past it; false (position unchanged) when truncated or too long.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryReadVarint(ReadOnlySpan<byte> buffer, scoped ref int position, out ulong value)
    {
        if ((uint)position > (uint)buffer.Length)
        {
            value = 0;
            return false;
        }

        int consumed = TryDecodeVarint(buffer[position..], out value);
        if (consumed <= 0)
        {
            return false;
        }

        position += consumed;
        return true;
    }

    /// <summary>
    /// Reads the field at <paramref name="position"/> of a message and moves past it: its number,
    /// wire type, the value of a varint field, the place of a length-delimited one. Fixed fields are
    /// skipped. False (position unchanged) at the end or on malformed bytes: field number 0, a group,
    /// an unknown wire type, a truncated value.
    /// </summary>
    public static bool TryReadField(ReadOnlySpan<byte> message, scoped ref int position, out int field, out int wireType, out (int Start, int Length) payload, out ulong varint)
    {
        field = wireType = 0;
        payload = default;
        varint = 0;
        int at = position;
        if (!TryReadVarint(message, ref at, out ulong tag) || tag >> 3 is 0 or > int.MaxValue)
        {
            return false;
        }

        int remaining;
        switch ((int)(tag & 7))
        {
            case WireTypeVarint:
                if (!TryReadVarint(message, ref at, out varint))
                {
                    return false;
                }

                break;
            case WireTypeFixed64:
                remaining = message.Length - at;
                if (remaining < 8)
                {
                    return false;
                }

                at += 8;
                break;
            case WireTypeFixed32:
                remaining = message.Length - at;
                if (remaining < 4)
                {
                    return false;
                }

                at += 4;
                break;
            case WireTypeLengthDelimited:
                if (!TryReadVarint(message, ref at, out ulong length) || length > (ulong)(message.Length - at))
                {
                    return false;
                }

                payload = (at, (int)length);
                at += (int)length;
                break;
            default:
                return false;
        }

        field = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        position = at;
        return true;
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

    /// <summary>Writes <paramref name="value"/> as a varint to <paramref name="writer"/>.</summary>
    public static void WriteVarint(IBufferWriter<byte> writer, ulong value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Advance(WriteVarint(writer.GetSpan(MaxVarintLength), value));
    }

    /// <summary>Writes a field's tag.</summary>
    public static void WriteTag(IBufferWriter<byte> writer, int field, int wireType) => WriteVarint(writer, (uint)((field << 3) | wireType));
}
