using System.Buffers;
using System.Text.Json;

namespace Runtime.BodyParsing;

/// <summary>
/// Typed access to a recorded field's value. Each helper re-reads only that value's bytes (a
/// fresh reader over its slice), so none of them depends on where the value sits in the body.
/// They never throw on body content: a wrong type or an unusable value answers false.
/// </summary>
public sealed partial class JsonBodyScanner
{
    /// <summary>The raw JSON bytes of the value (a string with its quotes), empty when absent.</summary>
    public ReadOnlySequence<byte> GetRawValue(int field)
    {
        ref readonly var result = ref _results[field];
        return result.IsPresent ? _body.Slice(result.ValueStart, result.ValueEnd - result.ValueStart) : default;
    }

    /// <summary>
    /// An upper bound of the unescaped UTF-8 length of a string field (escapes only shrink),
    /// for sizing the buffer passed to <see cref="TryCopyString"/>; 0 when the field is not a string.
    /// </summary>
    public int GetMaxStringLength(int field)
    {
        ref readonly var result = ref _results[field];
        return result.TokenType == JsonTokenType.String ? checked((int)(result.ValueLength - 2)) : 0;
    }

    /// <summary>
    /// Copies a string field's value, unescaped, as UTF-8. False when the field is absent or not a
    /// string (see <see cref="JsonFieldProblem.NotString"/>), when <paramref name="destination"/> is
    /// shorter than <see cref="GetMaxStringLength"/>, or when an escape encodes an unpaired surrogate.
    /// </summary>
    public bool TryCopyString(int field, Span<byte> destination, out int written)
    {
        written = 0;
        if (_results[field].TokenType != JsonTokenType.String || destination.Length < GetMaxStringLength(field))
        {
            return false;
        }

        var reader = ValueReader(field);
        try
        {
            written = reader.CopyString(destination);
            return true;
        }
        catch (InvalidOperationException)
        {
            // "\uD800" alone passes the reader's syntax check but has no UTF-8 form.
            return false;
        }
    }

    /// <summary>Whether a string field's unescaped value equals <paramref name="utf8"/> (false when absent or not a string).</summary>
    public bool ValueEquals(int field, ReadOnlySpan<byte> utf8)
    {
        if (_results[field].TokenType != JsonTokenType.String)
        {
            return false;
        }

        var reader = ValueReader(field);
        return TextEquals(ref reader, utf8);
    }

    /// <summary>Reads a boolean field (<c>stream</c>). False when absent or not <c>true</c>/<c>false</c>.</summary>
    public bool TryGetBoolean(int field, out bool value)
    {
        var tokenType = _results[field].TokenType;
        value = tokenType == JsonTokenType.True;
        return tokenType is JsonTokenType.True or JsonTokenType.False;
    }

    /// <summary>Reads an integer field (<c>max_tokens</c>, <c>n</c>). False when absent, not a number, fractional or out of range.</summary>
    public bool TryGetInt64(int field, out long value)
    {
        value = 0;
        if (_results[field].TokenType != JsonTokenType.Number)
        {
            return false;
        }

        var reader = ValueReader(field);
        return reader.TryGetInt64(out value);
    }

    /// <summary>Reads a number field as a double (<c>temperature</c>). False when absent or not a number.</summary>
    public bool TryGetDouble(int field, out double value)
    {
        value = 0;
        if (_results[field].TokenType != JsonTokenType.Number)
        {
            return false;
        }

        var reader = ValueReader(field);
        return reader.TryGetDouble(out value);
    }

    /// <summary>Whether the field is an array with at least one element (chat <c>messages</c>).</summary>
    public bool IsNonEmptyArray(int field)
    {
        ref readonly var result = ref _results[field];
        return result.TokenType == JsonTokenType.StartArray && result.ElementCount > 0;
    }

    /// <summary>Whether the field is an array whose elements are all of <paramref name="kind"/> (an empty array qualifies).</summary>
    public bool IsArrayOf(int field, JsonElementKinds kind)
    {
        ref readonly var result = ref _results[field];
        return result.TokenType == JsonTokenType.StartArray && (result.ElementKinds & ~kind) == 0;
    }

    /// <summary>A reader positioned on the field's value token, over just the value's bytes.</summary>
    private Utf8JsonReader ValueReader(int field)
    {
        var reader = new Utf8JsonReader(GetRawValue(field), isFinalBlock: true, new JsonReaderState(s_options));
        reader.Read(); // cannot fail: the scan already read this exact value
        return reader;
    }
}
