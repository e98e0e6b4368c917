using System.Buffers;
using System.Runtime.CompilerServices;
using Runtime.Primitives.Wire;

namespace Runtime.ExtProc.Codec;

/// <summary>Protobuf reader over contiguous bytes: the single-segment fast path.</summary>
internal ref struct SpanProtoReader : IProtoReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    // The same bytes as a sequence, so byte fields can be handed out as zero-copy slices.
    private readonly ReadOnlySequence<byte> _sequence;
    private int _position;
    private int _limit;

    /// <param name="buffer">The bytes to parse.</param>
    /// <param name="sequence">
    /// A single-segment sequence over exactly <paramref name="buffer"/>, or default when the
    /// caller never reads slices (header values parsed from scratch copies).
    /// </param>
    public SpanProtoReader(ReadOnlySpan<byte> buffer, ReadOnlySequence<byte> sequence)
    {
        _buffer = buffer;
        _sequence = sequence;
        _limit = buffer.Length;
    }

    public string? Error { get; private set; }

    public readonly bool HasMore => _position < _limit;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryReadVarint(out ulong value)
    {
        // Tags, lengths and booleans are almost always one byte.
        int position = _position;
        if ((uint)position < (uint)_limit)
        {
            byte first = _buffer[position];
            if (first < 0x80)
            {
                _position = position + 1;
                value = first;
                return true;
            }
        }

        return TryReadVarintSlow(out value);
    }

    public bool TrySkip(ulong count, string errorIfPastEnd)
    {
        if (count > (ulong)(_limit - _position))
        {
            return Fail(errorIfPastEnd);
        }

        _position += (int)count;
        return true;
    }

    public bool TryPushLimit(ulong length, out long previousLimit)
    {
        previousLimit = _limit;
        if (length > (ulong)(_limit - _position))
        {
            return Fail(DecodeErrors.LengthPastEnd);
        }

        _limit = _position + (int)length;
        return true;
    }

    public void PopLimit(long previousLimit) => _limit = (int)previousLimit;

    public bool TryReadSlice(ulong length, out ReadOnlySequence<byte> slice)
    {
        if (length > (ulong)(_limit - _position))
        {
            slice = default;
            return Fail(DecodeErrors.LengthPastEnd);
        }

        slice = _sequence.Slice(_position, (int)length);
        _position += (int)length;
        return true;
    }

    /// <summary>Reads a length-delimited field's length and value as a span of the input.</summary>
    public bool TryReadBytes(out ReadOnlySpan<byte> span)
    {
        if (!TryReadVarint(out ulong length))
        {
            span = default;
            return false;
        }

        if (length > (ulong)(_limit - _position))
        {
            span = default;
            return Fail(DecodeErrors.LengthPastEnd);
        }

        span = _buffer.Slice(_position, (int)length);
        _position += (int)length;
        return true;
    }

    public bool TryReadHeaderValue(ulong length, HeaderList into)
    {
        if (!TryPushLimit(length, out long previousLimit))
        {
            return false;
        }

        if (!RequestParser.TryParseHeaderValue(ref this, into))
        {
            return false;
        }

        PopLimit(previousLimit);
        return true;
    }

    public bool Fail(string error)
    {
        Error = error;
        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryReadVarintSlow(out ulong value)
    {
        int consumed = WireFormat.TryDecodeVarint(_buffer[_position.._limit], out value);
        if (consumed <= 0)
        {
            return Fail(consumed == 0 ? DecodeErrors.TruncatedVarint : DecodeErrors.VarintTooLong);
        }

        _position += consumed;
        return true;
    }
}
