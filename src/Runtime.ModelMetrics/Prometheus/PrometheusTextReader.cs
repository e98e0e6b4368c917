using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Runtime.ModelMetrics.Prometheus;

/// <summary>
/// Reads the samples of a Prometheus text-format page (exposition format 0.0.4, which OpenMetrics
/// pages also satisfy for gauges) straight from its bytes: names, label blocks and values are
/// slices of the page, so reading allocates nothing.
/// </summary>
/// <remarks>
/// <c># HELP</c>, <c># TYPE</c>, other comments and blank lines are skipped; <c>\r\n</c> line ends are
/// accepted. A line that is not a valid sample is counted in <see cref="MalformedLines"/> and skipped:
/// bad input from a model server must never throw or stop the rest of the page from being read.
/// </remarks>
internal ref struct PrometheusTextReader
{
    private static readonly SearchValues<byte> s_metricNameChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:"u8);

    private static readonly SearchValues<byte> s_labelNameChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"u8);

    private static readonly SearchValues<byte> s_quoteOrBackslash = SearchValues.Create("\"\\"u8);

    private readonly ReadOnlySpan<byte> _page;
    private int _position;

    public PrometheusTextReader(ReadOnlySpan<byte> page)
    {
        _page = page;
    }

    /// <summary>Lines that were neither a sample, a comment nor blank.</summary>
    public int MalformedLines { get; private set; }

    /// <summary>Samples returned so far.</summary>
    public int Samples { get; private set; }

    /// <summary>The next valid sample; false at the end of the page.</summary>
    public bool TryRead(out PrometheusSample sample)
    {
        var page = _page;
        while ((uint)_position < (uint)page.Length)
        {
            var rest = page[_position..];
            var newline = rest.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line;
            if (newline < 0)
            {
                line = rest;
                _position = page.Length;
            }
            else
            {
                line = rest[..newline];
                _position += newline + 1;
            }

            if (line.Length > 0 && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            line = line.TrimStart(" \t"u8);
            if (line.IsEmpty || line[0] == (byte)'#')
            {
                continue;
            }

            if (TryParseLine(line, out sample))
            {
                Samples++;
                return true;
            }

            MalformedLines++;
        }

        sample = default;
        return false;
    }

    /// <summary>Parses one sample line (no line end, no leading blanks); false if it is malformed.</summary>
    internal static bool TryParseLine(ReadOnlySpan<byte> line, out PrometheusSample sample)
    {
        sample = default;
        var nameLength = line.IndexOfAnyExcept(s_metricNameChars);
        if (nameLength < 0)
        {
            return false; // a name with no value
        }

        if (nameLength == 0 || IsDigit(line[0]))
        {
            return false;
        }

        var name = line[..nameLength];
        var position = nameLength;
        var labels = ReadOnlySpan<byte>.Empty;
        var hasEscapes = false;
        if (line[position] == (byte)'{')
        {
            var blockStart = position + 1;
            if (!TryScanLabelBlock(line, blockStart, out var blockEnd, out hasEscapes))
            {
                return false;
            }

            labels = line[blockStart..blockEnd];
            position = blockEnd + 1;
        }
        else if (!IsBlank(line[position]))
        {
            return false;
        }

        var afterLabels = line[position..].TrimStart(" \t"u8);
        var valueLength = afterLabels.IndexOfAny((byte)' ', (byte)'\t');
        var valueToken = valueLength < 0 ? afterLabels : afterLabels[..valueLength];
        if (!TryParseValue(valueToken, out var value))
        {
            return false;
        }

        long timestamp = 0;
        var hasTimestamp = false;
        if (valueLength >= 0)
        {
            var timestampToken = afterLabels[valueLength..].Trim(" \t"u8);
            if (!timestampToken.IsEmpty)
            {
                if (!Utf8Parser.TryParse(timestampToken, out timestamp, out var consumed) || consumed != timestampToken.Length)
                {
                    return false;
                }

                hasTimestamp = true;
            }
        }

        sample = new PrometheusSample(name, labels, hasEscapes, value, timestamp, hasTimestamp);
        return true;
    }

    /// <summary>
    /// Reads the label at <paramref name="position"/> of a label block (the text between the braces),
    /// leaving <paramref name="position"/> after its separator. Returns false at the end of the block or
    /// on a syntax error (<paramref name="error"/>).
    /// </summary>
    internal static bool TryReadLabel(ReadOnlySpan<byte> block, scoped ref int position, out PrometheusLabel label, out bool error)
    {
        label = default;
        error = false;
        var i = SkipBlanks(block, position);
        if ((uint)i >= (uint)block.Length)
        {
            position = i;
            return false;
        }

        var nameLength = block[i..].IndexOfAnyExcept(s_labelNameChars);
        if (nameLength <= 0 || IsDigit(block[i]))
        {
            error = true;
            return false;
        }

        var name = block.Slice(i, nameLength);
        i = SkipBlanks(block, i + nameLength);
        if ((uint)i >= (uint)block.Length || block[i] != (byte)'=')
        {
            error = true;
            return false;
        }

        i = SkipBlanks(block, i + 1);
        if ((uint)i >= (uint)block.Length || block[i] != (byte)'"')
        {
            error = true;
            return false;
        }

        var valueStart = i + 1;
        var j = valueStart;
        var hasEscapes = false;
        while (true)
        {
            var next = block[j..].IndexOfAny(s_quoteOrBackslash);
            if (next < 0)
            {
                error = true; // unterminated value
                return false;
            }

            j += next;
            if (block[j] == (byte)'"')
            {
                break;
            }

            // Only \\, \" and \n are escapes in the text format; anything else is malformed.
            if ((uint)(j + 1) >= (uint)block.Length || block[j + 1] is not ((byte)'\\' or (byte)'"' or (byte)'n'))
            {
                error = true;
                return false;
            }

            hasEscapes = true;
            j += 2;
        }

        label = new PrometheusLabel(name, block[valueStart..j], hasEscapes);
        i = SkipBlanks(block, j + 1);
        if ((uint)i < (uint)block.Length)
        {
            if (block[i] != (byte)',')
            {
                error = true;
                return false;
            }

            i++;
        }

        position = i;
        return true;
    }

    /// <summary>Finds the closing brace of a label block starting at <paramref name="start"/>, checking every label.</summary>
    private static bool TryScanLabelBlock(ReadOnlySpan<byte> line, int start, out int end, out bool hasEscapes)
    {
        hasEscapes = false;
        end = -1;

        // Find the closing brace outside quotes first, so labels are read from an exact block.
        var i = start;
        var inQuotes = false;
        while ((uint)i < (uint)line.Length)
        {
            var b = line[i];
            if (inQuotes)
            {
                if (b == (byte)'\\')
                {
                    i += 2;
                    continue;
                }

                if (b == (byte)'"')
                {
                    inQuotes = false;
                }
            }
            else if (b == (byte)'"')
            {
                inQuotes = true;
            }
            else if (b == (byte)'}')
            {
                end = i;
                break;
            }

            i++;
        }

        if (end < 0)
        {
            return false;
        }

        var block = line[start..end];
        var position = 0;
        while (true)
        {
            // False with no error means the block ended cleanly.
            if (!TryReadLabel(block, ref position, out var label, out var error))
            {
                return !error;
            }

            hasEscapes |= label.HasEscapes;
        }
    }

    /// <summary>Parses a sample value: decimal or exponent forms, <c>NaN</c>, <c>+Inf</c>, <c>-Inf</c>.</summary>
    internal static bool TryParseValue(ReadOnlySpan<byte> token, out double value)
    {
        if (token.IsEmpty)
        {
            value = 0;
            return false;
        }

        // Most gauges are small integers; this avoids the general parser for them.
        if (token.Length <= 15 && token.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0)
        {
            long whole = 0;
            foreach (var digit in token)
            {
                whole = (whole * 10) + (digit - '0');
            }

            value = whole;
            return true;
        }

        var first = token[0];
        if (first is (byte)'N' or (byte)'n' or (byte)'I' or (byte)'i' || (token.Length > 1 && first is (byte)'+' or (byte)'-' && token[1] is (byte)'I' or (byte)'i'))
        {
            return TryParseSpecial(token, out value);
        }

        return double.TryParse(token, NumberStyles.Float, NumberFormatInfo.InvariantInfo, out value);
    }

    private static bool TryParseSpecial(ReadOnlySpan<byte> token, out double value)
    {
        var negative = token[0] == (byte)'-';
        var body = token[0] is (byte)'+' or (byte)'-' ? token[1..] : token;
        if (Ascii.EqualsIgnoreCase(body, "inf"u8) || Ascii.EqualsIgnoreCase(body, "infinity"u8))
        {
            value = negative ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }

        if (body.Length == token.Length && Ascii.EqualsIgnoreCase(body, "nan"u8))
        {
            value = double.NaN;
            return true;
        }

        value = 0;
        return false;
    }

    private static int SkipBlanks(ReadOnlySpan<byte> span, int i)
    {
        while ((uint)i < (uint)span.Length && IsBlank(span[i]))
        {
            i++;
        }

        return i;
    }

    private static bool IsBlank(byte b) => b is (byte)' ' or (byte)'\t';

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;
}
