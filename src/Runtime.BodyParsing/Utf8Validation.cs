using System.Buffers;
using System.Text.Unicode;

namespace Runtime.BodyParsing;

/// <summary>
/// UTF-8 validation of a multi-segment body whose segments may split a character. Each segment
/// goes through the vectorised <see cref="Utf8.IsValid(ReadOnlySpan{byte})"/> minus its last
/// incomplete character, which is completed from the next segment in a 4-byte buffer.
/// </summary>
internal static class Utf8Validation
{
    public static bool IsValid(in ReadOnlySequence<byte> body)
    {
        if (body.IsSingleSegment)
        {
            return Utf8.IsValid(body.FirstSpan);
        }

        Span<byte> carry = stackalloc byte[4];
        var carried = 0;
        var needed = 0;
        foreach (var memory in body)
        {
            var span = memory.Span;
            if (carried > 0)
            {
                var take = Math.Min(needed - carried, span.Length);
                span[..take].CopyTo(carry[carried..]);
                carried += take;
                span = span[take..];
                if (carried < needed)
                {
                    continue;
                }

                if (!Utf8.IsValid(carry[..needed]))
                {
                    return false;
                }

                carried = 0;
            }

            var cut = IncompleteTailStart(span, out needed);
            if (!Utf8.IsValid(span[..cut]))
            {
                return false;
            }

            span[cut..].CopyTo(carry);
            carried = span.Length - cut;
        }

        return carried == 0;
    }

    /// <summary>
    /// Where a character that the span's end cuts short begins (span.Length when none), and how
    /// many bytes that character needs. Only a well-formed lead byte counts; anything else is left
    /// in the span for <see cref="Utf8.IsValid(ReadOnlySpan{byte})"/> to judge.
    /// </summary>
    private static int IncompleteTailStart(ReadOnlySpan<byte> span, out int needed)
    {
        needed = 0;
        for (var back = 1; back <= 3 && (uint)(span.Length - back) < (uint)span.Length; back++)
        {
            var b = span[span.Length - back];
            if ((b & 0xC0) == 0x80)
            {
                continue; // continuation byte: keep looking for the lead
            }

            var length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            if (length > back && b <= 0xF4)
            {
                needed = length;
                return span.Length - back;
            }

            break;
        }

        return span.Length;
    }
}
