using System.Buffers;
using System.Runtime.CompilerServices;
using Runtime.Primitives.Wire;
using Runtime.Primitives.Buffers;

namespace Runtime.ExtProc.Codec;

/// <summary>
/// Protobuf reader over a multi-segment sequence (Kestrel hands us ~4 KB pipe segments, so any
/// sizeable body spans many). Varints are decoded straight from the current segment when they
/// fit, byte by byte across a boundary otherwise; byte fields become slices of the input.
/// </summary>
internal ref struct SequenceProtoReader : IProtoReader
{
    // A HeaderValue that straddles a segment boundary is copied here (or to a rented array when
    // larger) and parsed as a span; that happens about once per segment boundary, not per header.
    private const int StackScratchSize = 256;

    private SequenceReader<byte> _reader;
    private long _limit;

    public SequenceProtoReader(in ReadOnlySequence<byte> sequence)
    {
        _reader = new SequenceReader<byte>(sequence);
        _limit = sequence.Length;
    }

    public string? Error { get; private set; }

    public readonly bool HasMore => _reader.Consumed < _limit;

    public bool TryReadVarint(out ulong value)
    {
        ReadOnlySpan<byte> span = _reader.UnreadSpan;
        long remaining = _limit - _reader.Consumed;
        if (remaining < span.Length)
        {
            span = span[..(int)remaining];
        }

        int consumed = WireFormat.TryDecodeVarint(span, out value);
        if (consumed > 0)
        {
            _reader.Advance(consumed);
            return true;
        }

        if (consumed < 0)
        {
            return Fail(DecodeErrors.VarintTooLong);
        }

        // The varint continues into the next segment (or is truncated, which the slow path reports).
        return TryReadVarintSlow(out value);
    }

    public bool TrySkip(ulong count, string errorIfPastEnd)
    {
        if (count > (ulong)(_limit - _reader.Consumed))
        {
            return Fail(errorIfPastEnd);
        }

        _reader.Advance((long)count);
        return true;
    }

    public bool TryPushLimit(ulong length, out long previousLimit)
    {
        previousLimit = _limit;
        if (length > (ulong)(_limit - _reader.Consumed))
        {
            return Fail(DecodeErrors.LengthPastEnd);
        }

        _limit = _reader.Consumed + (long)length;
        return true;
    }

    public void PopLimit(long previousLimit) => _limit = previousLimit;

    public bool TryReadSlice(ulong length, out ReadOnlySequence<byte> slice)
    {
        if (length > (ulong)(_limit - _reader.Consumed))
        {
            slice = default;
            return Fail(DecodeErrors.LengthPastEnd);
        }

        slice = _reader.Sequence.Slice(_reader.Position, (long)length);
        _reader.Advance((long)length);
        return true;
    }

    public bool TryReadHeaderValue(ulong length, HeaderList into)
    {
        if (length > (ulong)(_limit - _reader.Consumed))
        {
            return Fail(DecodeErrors.LengthPastEnd);
        }

        int count = (int)length;
        ReadOnlySpan<byte> span = _reader.UnreadSpan;
        if (count <= span.Length)
        {
            if (!ParseHeaderValue(span[..count], into))
            {
                return false;
            }

            _reader.Advance(count);
            return true;
        }

        return TryReadStraddlingHeaderValue(count, into);
    }

    public bool Fail(string error)
    {
        Error = error;
        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryReadStraddlingHeaderValue(int count, HeaderList into)
    {
        byte[]? rented = null;
        Span<byte> scratch = count <= StackScratchSize
            ? stackalloc byte[StackScratchSize]
            : (rented = PooledBuffers.Rent(count));
        try
        {
            scratch = scratch[..count];
            // Cannot fail: the limit check above guarantees count bytes remain.
            _reader.TryCopyTo(scratch);
            if (!ParseHeaderValue(scratch, into))
            {
                return false;
            }

            _reader.Advance(count);
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                PooledBuffers.Return(rented);
            }
        }
    }

    private bool ParseHeaderValue(scoped ReadOnlySpan<byte> message, HeaderList into)
    {
        string? error = ParseHeaderValueCore(message, into);
        return error is null || Fail(error);
    }

    /// <summary>Static so the compiler can see the scratch span cannot escape into this reader.</summary>
    private static string? ParseHeaderValueCore(ReadOnlySpan<byte> message, HeaderList into)
    {
        var inner = new SpanProtoReader(message, default);
        return RequestParser.TryParseHeaderValue(ref inner, into) ? null : inner.Error;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryReadVarintSlow(out ulong value)
    {
        // Gather the (at most 10) bytes the varint can span into one span and decode it there.
        Span<byte> scratch = stackalloc byte[WireFormat.MaxVarintLength];
        int available = (int)Math.Min(WireFormat.MaxVarintLength, Math.Min(_limit - _reader.Consumed, _reader.Remaining));
        scratch = scratch[..available];
        _reader.TryCopyTo(scratch);
        int consumed = WireFormat.TryDecodeVarint(scratch, out value);
        if (consumed <= 0)
        {
            return Fail(consumed == 0 ? DecodeErrors.TruncatedVarint : DecodeErrors.VarintTooLong);
        }

        _reader.Advance(consumed);
        return true;
    }
}
