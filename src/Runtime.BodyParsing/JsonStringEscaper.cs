using System.Text.Unicode;

namespace Runtime.BodyParsing;

/// <summary>
/// Writes UTF-8 text as a quoted JSON string: escapes the quote, the backslash and the control
/// characters (the ones RFC 8259 requires), and passes every other byte of valid UTF-8 through.
/// Deliberately smaller than System.Text.Json's encoders, which also escape HTML-sensitive and
/// non-ASCII characters: the bytes we write go to a model server, not into a web page, and a
/// model name should keep its characters.
/// </summary>
internal static class JsonStringEscaper
{
    private static ReadOnlySpan<byte> HexDigits => "0123456789abcdef"u8;

    /// <summary>
    /// The length of <paramref name="utf8"/> written as a quoted JSON string; false when the
    /// input is not valid UTF-8 (which JSON cannot carry).
    /// </summary>
    public static bool TryGetQuotedLength(ReadOnlySpan<byte> utf8, out int length)
    {
        length = 0;
        if (!Utf8.IsValid(utf8))
        {
            return false;
        }

        long total = 2;
        foreach (var b in utf8)
        {
            total += EscapedLength(b);
        }

        if (total > int.MaxValue)
        {
            return false;
        }

        length = (int)total;
        return true;
    }

    /// <summary>
    /// Writes the quoted string; <paramref name="destination"/> must hold the length from
    /// <see cref="TryGetQuotedLength"/>. Returns the bytes written, or -1 when the input is not
    /// valid UTF-8 or the destination is too short.
    /// </summary>
    public static int WriteQuoted(ReadOnlySpan<byte> utf8, Span<byte> destination)
    {
        if (!TryGetQuotedLength(utf8, out var length) || destination.Length < length)
        {
            return -1;
        }

        var o = 0;
        destination[o++] = (byte)'"';
        foreach (var b in utf8)
        {
            if (b >= 0x20 && b != (byte)'"' && b != (byte)'\\')
            {
                destination[o++] = b;
                continue;
            }

            destination[o++] = (byte)'\\';
            switch (b)
            {
                case (byte)'"':
                case (byte)'\\':
                    destination[o++] = b;
                    break;
                case (byte)'\n':
                    destination[o++] = (byte)'n';
                    break;
                case (byte)'\r':
                    destination[o++] = (byte)'r';
                    break;
                case (byte)'\t':
                    destination[o++] = (byte)'t';
                    break;
                case (byte)'\b':
                    destination[o++] = (byte)'b';
                    break;
                case (byte)'\f':
                    destination[o++] = (byte)'f';
                    break;
                default:
                    destination[o++] = (byte)'u';
                    destination[o++] = (byte)'0';
                    destination[o++] = (byte)'0';
                    destination[o++] = HexDigits[b >> 4];
                    destination[o++] = HexDigits[b & 0xF];
                    break;
            }
        }

        destination[o++] = (byte)'"';
        return o;
    }

    private static int EscapedLength(byte b) => b switch
    {
        (byte)'"' or (byte)'\\' or (byte)'\n' or (byte)'\r' or (byte)'\t' or (byte)'\b' or (byte)'\f' => 2,
        < 0x20 => 6,
        _ => 1,
    };
}
