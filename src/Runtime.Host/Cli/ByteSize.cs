using System.Globalization;

namespace Runtime.Host.Cli;

/// <summary>
/// Sizes as llm-d's <c>--grpc-max-*-msg-size</c> take them: a Kubernetes quantity (<c>10Mi</c>,
/// <c>25M</c>, <c>1Gi</c>, <c>4096</c>) with one optional trailing <c>B</c> (<c>10MiB</c>, <c>25MB</c>).
/// </summary>
internal static class ByteSize
{
    private static readonly (string Suffix, long Factor)[] s_suffixes =
    [
        ("Ki", 1L << 10), ("Mi", 1L << 20), ("Gi", 1L << 30), ("Ti", 1L << 40),
        ("k", 1_000L), ("K", 1_000L), ("M", 1_000_000L), ("G", 1_000_000_000L), ("T", 1_000_000_000_000L),
    ];

    /// <summary>The size in bytes, at most <see cref="int.MaxValue"/>; throws <see cref="FormatException"/> otherwise.</summary>
    public static int Parse(string text)
    {
        var bytes = ParseLong(text);
        return bytes <= int.MaxValue ? (int)bytes : throw new FormatException("larger than 2 GiB");
    }

    /// <summary>The size in bytes, for sizes that may pass 2 GiB (memory ceilings).</summary>
    public static long ParseLong(string text)
    {
        var value = text.Trim();
        if (value.EndsWith('B') || value.EndsWith('b'))
        {
            value = value[..^1];
        }

        long factor = 1;
        foreach (var (suffix, f) in s_suffixes)
        {
            if (value.EndsWith(suffix, StringComparison.Ordinal))
            {
                factor = f;
                value = value[..^suffix.Length];
                break;
            }
        }

        if (!decimal.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number) || number < 0)
        {
            throw new FormatException("expected a size such as 4194304, 10MiB or 25MB");
        }

        var bytes = number * factor;
        return bytes <= long.MaxValue ? (long)bytes : throw new FormatException("too large");
    }
}
