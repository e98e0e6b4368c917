using System.Buffers;
using System.Globalization;
using System.Text;

namespace Runtime.BodyParsing.Tests;

/// <summary>Seeded random JSON bodies and random multi-segment layouts of them.</summary>
internal static class TestBodies
{
    public static readonly string[] KnownNames = ["model", "stream", "messages", "prompt", "input", "items", "max_tokens", "temperature", "cache_salt"];

    private static readonly string[] s_words = ["hello", "wörld", "中文", "😀", "tab\there", "quote\"d", "back\\slash", "line\nbreak", "ctl\u0001", "é", "", "a b c", "/slash", "\u2028"];

    /// <summary>Splits <paramref name="bytes"/> at random offsets into up to <paramref name="maxSegments"/> segments.</summary>
    public static ReadOnlySequence<byte> Split(byte[] bytes, Random random, int maxSegments = 12)
    {
        if (bytes.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var cuts = new SortedSet<int>();
        var wanted = random.Next(0, maxSegments);
        for (var i = 0; i < wanted && bytes.Length > 1; i++)
        {
            cuts.Add(random.Next(1, bytes.Length));
        }

        return Segments(bytes, [.. cuts]);
    }

    /// <summary>One segment per byte: every possible split point at once.</summary>
    public static ReadOnlySequence<byte> ByteByByte(byte[] bytes) =>
        bytes.Length == 0 ? ReadOnlySequence<byte>.Empty : Segments(bytes, [.. Enumerable.Range(1, bytes.Length - 1)]);

    public static ReadOnlySequence<byte> Segments(byte[] bytes, int[] cuts)
    {
        Segment? first = null;
        Segment? last = null;
        var from = 0;
        foreach (var cut in cuts.Append(bytes.Length))
        {
            // Each segment gets its own array with junk around it, so an offset mistake shows.
            var array = new byte[cut - from + 2];
            array[0] = (byte)'X';
            array[^1] = (byte)'Y';
            bytes.AsSpan(from, cut - from).CopyTo(array.AsSpan(1));
            var segment = new Segment(new ReadOnlyMemory<byte>(array, 1, cut - from), last?.RunningIndex + last?.Memory.Length ?? 0);
            if (last is null)
            {
                first = segment;
            }
            else
            {
                last.SetNext(segment);
            }

            last = segment;
            from = cut;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    /// <summary>A random chat-like body: known and random names in random order, nested values, escapes, unicode, whitespace.</summary>
    public static string RandomBody(Random random, out List<string> names)
    {
        var sb = new StringBuilder();
        names = [];
        Ws(sb, random);
        sb.Append('{');
        var count = random.Next(0, 9);
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            Ws(sb, random);
            var name = random.Next(4) switch
            {
                0 => "f" + random.Next(100).ToString(CultureInfo.InvariantCulture),
                1 when names.Count > 0 => names[random.Next(names.Count)], // duplicate
                _ => KnownNames[random.Next(KnownNames.Length)],
            };
            names.Add(name);
            WriteString(sb, name, random);
            Ws(sb, random);
            sb.Append(':');
            Ws(sb, random);
            if (name == "model" && random.Next(4) > 0)
            {
                WriteString(sb, RandomText(random), random);
            }
            else if (name == "stream" && random.Next(4) > 0)
            {
                sb.Append(random.Next(2) == 0 ? "true" : "false");
            }
            else
            {
                Value(sb, random, depth: 0);
            }

            Ws(sb, random);
        }

        sb.Append('}');
        Ws(sb, random);
        return sb.ToString();
    }

    public static string RandomText(Random random)
    {
        var sb = new StringBuilder();
        var n = random.Next(0, 4);
        for (var i = 0; i < n; i++)
        {
            sb.Append(s_words[random.Next(s_words.Length)]);
        }

        return sb.ToString();
    }

    /// <summary>Writes a JSON string, escaping what must be escaped and, at random, what may be (incl. \u forms of letters and surrogate pairs).</summary>
    public static void WriteString(StringBuilder sb, string text, Random random)
    {
        sb.Append('"');
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\\':
                    sb.Append("\\\\");
                    break;
                case '\n':
                    sb.Append(random.Next(2) == 0 ? "\\n" : "\\u000a");
                    break;
                case '\t':
                    sb.Append("\\t");
                    break;
                case < ' ':
                    sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < text.Length)
                    {
                        // Keep pairs together: raw, or both halves escaped.
                        if (random.Next(3) == 0)
                        {
                            sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}\\u{(int)text[i + 1]:X4}");
                        }
                        else
                        {
                            sb.Append(c).Append(text[i + 1]);
                        }

                        i++;
                    }
                    else if (random.Next(12) == 0)
                    {
                        sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
                    }
                    else if (c == '/' && random.Next(2) == 0)
                    {
                        sb.Append("\\/");
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        sb.Append('"');
    }

    private static void Value(StringBuilder sb, Random random, int depth)
    {
        switch (random.Next(depth > 4 ? 6 : 8))
        {
            case 0:
                WriteString(sb, RandomText(random), random);
                break;
            case 1:
                sb.Append(random.Next(5) switch
                {
                    0 => "0",
                    1 => "-12",
                    2 => "3.25",
                    3 => "1e-7",
                    _ => "-0.5E+10",
                });
                break;
            case 2:
                sb.Append("true");
                break;
            case 3:
                sb.Append("false");
                break;
            case 4:
                sb.Append("null");
                break;
            case 5:
                // A long plain string, the shape of a prompt.
                sb.Append('"').Append('p', random.Next(0, 3000)).Append('"');
                break;
            case 6:
                sb.Append('[');
                var n = random.Next(0, 5);
                for (var i = 0; i < n; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',');
                    }

                    Ws(sb, random);
                    Value(sb, random, depth + 1);
                    Ws(sb, random);
                }

                sb.Append(']');
                break;
            default:
                sb.Append('{');
                var m = random.Next(0, 4);
                for (var i = 0; i < m; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',');
                    }

                    Ws(sb, random);
                    // Nested "model" keys must not be mistaken for the top-level one.
                    WriteString(sb, random.Next(3) == 0 ? "model" : RandomText(random), random);
                    sb.Append(':');
                    Ws(sb, random);
                    Value(sb, random, depth + 1);
                }

                Ws(sb, random);
                sb.Append('}');
                break;
        }
    }

    private static void Ws(StringBuilder sb, Random random)
    {
        var n = random.Next(0, 3) == 0 ? random.Next(1, 4) : 0;
        for (var i = 0; i < n; i++)
        {
            sb.Append(" \t\n\r"[random.Next(4)]);
        }
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
