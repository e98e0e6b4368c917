using System.Buffers;
using System.Text.Json;

namespace Runtime.BodyParsing;

/// <summary>What <see cref="JsonValueSkipper"/> learned about the one value it crossed.</summary>
internal struct SkippedValue
{
    public long Start;
    public long End;
    public JsonTokenType TokenType;
    public bool IsEscaped;
    public int ElementCount;
    public JsonElementKinds FirstElementKind;
    public JsonElementKinds ElementKinds;
}

/// <summary>
/// Crosses one JSON value of a top-level property and validates it exactly as
/// <see cref="Utf8JsonReader"/> would with the scanner's options (no comments, no trailing commas,
/// <see cref="JsonBodyScanner.MaxDepth"/>, RFC 8259 numbers, literals and escapes, no control
/// bytes in strings), without producing tokens. Strings — nearly all of a long prompt — are crossed
/// with one vectorised search for the next quote, backslash or control byte; the reader instead
/// walks the rest of a string byte by byte after its first escape, and its multi-segment path is
/// slower still. UTF-8 of string contents is not checked here: the scanner validates the whole
/// body in one vectorised pass, as before.
/// </summary>
internal ref struct JsonValueSkipper
{
    /// <summary>What ends a run of plain string bytes: the closing quote, an escape, or a byte JSON forbids unescaped.</summary>
    private static readonly SearchValues<byte> s_stringStops = SearchValues.Create(
        [(byte)'"', (byte)'\\', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]);

    private ReadOnlySequence<byte>.Enumerator _segments;
    private ReadOnlySpan<byte> _span;
    private int _index;
    private long _spanStart;

    private JsonValueSkipper(in ReadOnlySequence<byte> body, long offset)
    {
        _segments = body.Slice(offset).GetEnumerator();
        _span = default;
        _index = 0;
        _spanStart = offset;
    }

    private readonly long Position => _spanStart + _index;

    /// <summary>
    /// Crosses the whitespace and the value that follow a property name's colon at
    /// <paramref name="offset"/>; false when that value is malformed, too deep or cut short.
    /// </summary>
    public static bool TrySkipValue(in ReadOnlySequence<byte> body, long offset, out SkippedValue value)
    {
        var skipper = new JsonValueSkipper(body, offset);
        return skipper.SkipValue(out value);
    }

    private bool SkipValue(out SkippedValue value)
    {
        value = default;
        if (!TryPeekToken(out var first))
        {
            return false;
        }

        value.Start = Position;
        _index++;
        value.TokenType = TokenTypeOf(first);
        switch (value.TokenType)
        {
            case JsonTokenType.String:
                if (!SkipStringBody(out value.IsEscaped))
                {
                    return false;
                }

                break;
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                if (!SkipContainer(first, ref value))
                {
                    return false;
                }

                break;
            case JsonTokenType.None:
                return false;
            default:
                if (!SkipScalar(first))
                {
                    return false;
                }

                break;
        }

        value.End = Position;
        return true;
    }

    /// <summary>Crosses a container whose opening byte was just consumed, iteratively (no recursion).</summary>
    private bool SkipContainer(byte opening, ref SkippedValue value)
    {
        // Containers the property's own value has open; bit d set = the container at depth d is an
        // object. The top-level object already counts one level against the reader's limit.
        const int OpenLimit = JsonBodyScanner.MaxDepth - 1;
        ulong objects = opening == (byte)'{' ? 1UL : 0UL;
        var depth = 1;
        var expectMember = true; // just after '{' or '[' (a closing byte is allowed) or after ','
        var afterComma = false;
        while (true)
        {
            var inObject = (objects & (1UL << (depth - 1))) != 0;
            if (!TryPeekToken(out var b))
            {
                return false;
            }

            _index++;
            if (expectMember)
            {
                if (!afterComma && b == (inObject ? (byte)'}' : (byte)']'))
                {
                    depth--;
                    if (depth == 0)
                    {
                        return true;
                    }

                    expectMember = false;
                    continue;
                }

                if (inObject)
                {
                    // A member is "name" ws ':' then a value.
                    if (b != (byte)'"' || !SkipStringBody(out _) || !TryPeekToken(out var colon) || colon != (byte)':')
                    {
                        return false;
                    }

                    _index++;
                    if (!TryPeekToken(out b))
                    {
                        return false;
                    }

                    _index++;
                }

                var type = TokenTypeOf(b);
                if (depth == 1 && !inObject)
                {
                    var kind = type.ToKind();
                    if (value.ElementCount++ == 0)
                    {
                        value.FirstElementKind = kind;
                    }

                    value.ElementKinds |= kind;
                }

                switch (type)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        if (depth >= OpenLimit)
                        {
                            return false;
                        }

                        objects = b == (byte)'{' ? objects | (1UL << depth) : objects & ~(1UL << depth);
                        depth++;
                        afterComma = false;
                        continue; // expectMember stays true
                    case JsonTokenType.String:
                        if (!SkipStringBody(out _))
                        {
                            return false;
                        }

                        break;
                    case JsonTokenType.None:
                        return false;
                    default:
                        if (!SkipScalar(b))
                        {
                            return false;
                        }

                        break;
                }

                expectMember = false;
                continue;
            }

            // After a value: ',' or this container's closing byte.
            if (b == (byte)',')
            {
                expectMember = true;
                afterComma = true;
                continue;
            }

            if (b != (inObject ? (byte)'}' : (byte)']'))
            {
                return false;
            }

            depth--;
            if (depth == 0)
            {
                return true;
            }
        }
    }

    /// <summary>Crosses a string whose opening quote was just consumed, through its closing quote.</summary>
    private bool SkipStringBody(out bool escaped)
    {
        escaped = false;
        while (true)
        {
            var rest = _span[_index..];
            var stop = rest.IndexOfAny(s_stringStops);
            if (stop < 0)
            {
                _index = _span.Length;
                if (!NextSegment())
                {
                    return false;
                }

                continue;
            }

            _index += stop + 1;
            var b = rest[stop];
            if (b == (byte)'"')
            {
                return true;
            }

            if (b != (byte)'\\' || !TryRead(out var e))
            {
                return false; // a control byte, or a backslash at the very end
            }

            escaped = true;
            switch (e)
            {
                case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                    break;
                case (byte)'u':
                    for (var i = 0; i < 4; i++)
                    {
                        if (!TryRead(out var h) || !char.IsAsciiHexDigit((char)h))
                        {
                            return false;
                        }
                    }

                    break;
                default:
                    return false;
            }
        }
    }

    /// <summary>Crosses a number or literal whose first byte was just consumed.</summary>
    private bool SkipScalar(byte first) => first switch
    {
        (byte)'t' => Expect("rue"u8),
        (byte)'f' => Expect("alse"u8),
        (byte)'n' => Expect("ull"u8),
        _ => SkipNumber(first),
    };

    private bool Expect(ReadOnlySpan<byte> rest)
    {
        foreach (var expected in rest)
        {
            if (!TryRead(out var b) || b != expected)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// <c>-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?</c>. What may follow is checked by the
    /// caller (a ',' or closing byte here, the reader's own separator check at top level).
    /// </summary>
    private bool SkipNumber(byte first)
    {
        if (first == (byte)'-' && (!TryRead(out first) || !char.IsAsciiDigit((char)first)))
        {
            return false;
        }

        if (first == (byte)'0')
        {
            if (TryPeek(out var next) && char.IsAsciiDigit((char)next))
            {
                return false; // leading zero
            }
        }
        else
        {
            SkipDigits();
        }

        if (TryPeek(out var b) && b == (byte)'.')
        {
            _index++;
            if (SkipDigits() == 0)
            {
                return false;
            }
        }

        if (TryPeek(out b) && (b == (byte)'e' || b == (byte)'E'))
        {
            _index++;
            if (TryPeek(out b) && (b == (byte)'+' || b == (byte)'-'))
            {
                _index++;
            }

            if (SkipDigits() == 0)
            {
                return false;
            }
        }

        return true;
    }

    private int SkipDigits()
    {
        var count = 0;
        while (TryPeek(out var b) && char.IsAsciiDigit((char)b))
        {
            _index++;
            count++;
        }

        return count;
    }

    private static JsonTokenType TokenTypeOf(byte first) => first switch
    {
        (byte)'"' => JsonTokenType.String,
        (byte)'{' => JsonTokenType.StartObject,
        (byte)'[' => JsonTokenType.StartArray,
        (byte)'t' => JsonTokenType.True,
        (byte)'f' => JsonTokenType.False,
        (byte)'n' => JsonTokenType.Null,
        (byte)'-' or (>= (byte)'0' and <= (byte)'9') => JsonTokenType.Number,
        _ => JsonTokenType.None,
    };

    /// <summary>Skips JSON whitespace and peeks the byte after it (not consumed).</summary>
    private bool TryPeekToken(out byte b)
    {
        while (TryPeek(out b))
        {
            if (b is not ((byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t'))
            {
                return true;
            }

            _index++;
        }

        return false;
    }

    private bool TryPeek(out byte b)
    {
        while (_index >= _span.Length)
        {
            if (!NextSegment())
            {
                b = 0;
                return false;
            }
        }

        b = _span[_index];
        return true;
    }

    private bool TryRead(out byte b)
    {
        if (!TryPeek(out b))
        {
            return false;
        }

        _index++;
        return true;
    }

    private bool NextSegment()
    {
        _spanStart += _span.Length;
        _index = 0;
        if (!_segments.MoveNext())
        {
            _span = default;
            return false;
        }

        _span = _segments.Current.Span;
        return true;
    }
}
