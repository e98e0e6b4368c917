using System.Buffers;
using System.Runtime.CompilerServices;
using Runtime.Primitives.Wire;

namespace Runtime.ExtProc.Codec;

/// <summary>
/// Forward-only protobuf writer over an <see cref="IBufferWriter{T}"/>. Sizes are known up front
/// (computed bottom-up by the caller), so nothing is back-patched and nothing is staged in a
/// temporary buffer: framing bytes go into the current span and body bytes are copied once,
/// straight from their source sequence into the output.
/// </summary>
internal ref struct ProtoWriter
{
    // A PipeWriter's pool hands out 4 KB blocks; asking for more would make it allocate an
    // unpooled array, so large copies proceed in chunks of at most this size.
    private const int MaxChunkHint = 4096;

    private readonly IBufferWriter<byte> _output;
    private Span<byte> _span;
    private int _buffered;

    public ProtoWriter(IBufferWriter<byte> output)
    {
        _output = output;
        _span = default;
        _buffered = 0;
    }

    /// <summary>Writes a one-byte tag (every field we write has a number below 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteTag(uint tag)
    {
        Span<byte> span = Reserve(1);
        span[0] = (byte)tag;
        _buffered++;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteVarint(ulong value)
    {
        Span<byte> span = Reserve(WireFormat.MaxVarintLength);
        _buffered += WireFormat.WriteVarint(span, value);
    }

    /// <summary>A complete <c>double</c> field (wire type fixed64, little-endian).</summary>
    public void WriteDoubleField(uint tag, double value)
    {
        Span<byte> span = Reserve(9);
        span[0] = (byte)tag;
        System.Buffers.Binary.BinaryPrimitives.WriteDoubleLittleEndian(span[1..], value);
        _buffered += 9;
    }

    /// <summary>Tag and length prefix of a length-delimited field.</summary>
    public void WriteLengthDelimitedHeader(uint tag, long length)
    {
        Span<byte> span = Reserve(1 + WireFormat.MaxVarintLength);
        span[0] = (byte)tag;
        _buffered += 1 + WireFormat.WriteVarint(span[1..], (ulong)length);
    }

    /// <summary>A complete <c>bytes</c>/<c>string</c> field.</summary>
    public void WriteBytesField(uint tag, ReadOnlySpan<byte> value)
    {
        WriteLengthDelimitedHeader(tag, value.Length);
        WriteRaw(value);
    }

    /// <summary>A complete <c>bytes</c> field whose value is a (possibly multi-segment) sequence.</summary>
    public void WriteBytesField(uint tag, in ReadOnlySequence<byte> value)
    {
        WriteLengthDelimitedHeader(tag, value.Length);
        if (value.IsSingleSegment)
        {
            WriteRaw(value.FirstSpan);
            return;
        }

        foreach (ReadOnlyMemory<byte> segment in value)
        {
            WriteRaw(segment.Span);
        }
    }

    public void WriteRaw(ReadOnlySpan<byte> source)
    {
        while (true)
        {
            Span<byte> free = _span[_buffered..];
            if (source.Length <= free.Length)
            {
                source.CopyTo(free);
                _buffered += source.Length;
                return;
            }

            source[..free.Length].CopyTo(free);
            _buffered += free.Length;
            source = source[free.Length..];
            Refill(Math.Min(source.Length, MaxChunkHint));
        }
    }

    /// <summary>Commits everything written so far to the underlying writer.</summary>
    public void Flush()
    {
        if (_buffered > 0)
        {
            _output.Advance(_buffered);
        }

        _buffered = 0;
        _span = default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<byte> Reserve(int count)
    {
        if (_span.Length - _buffered < count)
        {
            Refill(count);
        }

        return _span[_buffered..];
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Refill(int minimum)
    {
        Flush();
        _span = _output.GetSpan(minimum);
        if (_span.Length < minimum)
        {
            ThrowHelper.ThrowBufferWriterTooSmall();
        }
    }
}
