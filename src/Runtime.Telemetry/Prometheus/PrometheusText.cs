using System.Globalization;
using System.Text;

namespace Runtime.Telemetry.Prometheus;

/// <summary>Pieces of the Prometheus text exposition format 0.0.4: names, labels, escaping, numbers.</summary>
internal static class PrometheusText
{
    /// <summary>A metric name with every character outside <c>[a-zA-Z0-9_:]</c> replaced by <c>_</c>.</summary>
    public static string MetricName(string name) => Sanitize(name, allowColon: true);

    /// <summary>A label name with every character outside <c>[a-zA-Z0-9_]</c> replaced by <c>_</c>.</summary>
    public static string LabelName(string name) => Sanitize(name, allowColon: false);

    /// <summary>
    /// The inside of a label block, <c>a="x",b="y"</c>: names sanitised and sorted ordinally (as
    /// the Go client sorts them), values escaped. Empty for no labels.
    /// </summary>
    public static string LabelBody(ReadOnlySpan<KeyValuePair<string, string>> labels)
    {
        if (labels.IsEmpty)
        {
            return string.Empty;
        }

        var sorted = new KeyValuePair<string, string>[labels.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            sorted[i] = new(LabelName(labels[i].Key), labels[i].Value);
        }

        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var text = new StringBuilder();
        for (var i = 0; i < sorted.Length; i++)
        {
            if (i > 0)
            {
                text.Append(',');
            }

            text.Append(sorted[i].Key).Append("=\"");
            AppendEscaped(text, sorted[i].Value, escapeQuotes: true);
            text.Append('"');
        }

        return text.ToString();
    }

    /// <summary>A tag value as label text: strings as they are, numbers and others invariant.</summary>
    public static string LabelValue(object? value) => value switch
    {
        null => string.Empty,
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    /// <summary>Appends <paramref name="value"/> with <c>\</c>, newline and (in label values) <c>"</c> escaped.</summary>
    public static void AppendEscaped(StringBuilder text, string value, bool escapeQuotes)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\':
                    text.Append("\\\\");
                    break;
                case '\n':
                    text.Append("\\n");
                    break;
                case '"' when escapeQuotes:
                    text.Append("\\\"");
                    break;
                default:
                    text.Append(c);
                    break;
            }
        }
    }

    /// <summary>A sample value as Prometheus parses it: shortest round-trip, <c>+Inf</c>, <c>-Inf</c>, <c>NaN</c>.</summary>
    public static void AppendValue(StringBuilder text, double value)
    {
        if (double.IsPositiveInfinity(value))
        {
            text.Append("+Inf");
        }
        else if (double.IsNegativeInfinity(value))
        {
            text.Append("-Inf");
        }
        else if (double.IsNaN(value))
        {
            text.Append("NaN");
        }
        else
        {
            text.Append(value.ToString("R", CultureInfo.InvariantCulture));
        }
    }

    public static string FormatValue(double value)
    {
        var text = new StringBuilder();
        AppendValue(text, value);
        return text.ToString();
    }

    private static string Sanitize(string name, bool allowColon)
    {
        if (name.Length == 0)
        {
            return "_";
        }

        var span = name.AsSpan();
        var valid = true;
        for (var i = 0; i < span.Length && valid; i++)
        {
            valid = IsValid(span[i], i == 0, allowColon);
        }

        if (valid)
        {
            return name;
        }

        return string.Create(name.Length, (name, allowColon), static (chars, state) =>
        {
            for (var i = 0; i < chars.Length; i++)
            {
                var c = state.name[i];
                chars[i] = IsValid(c, i == 0, state.allowColon) ? c : '_';
            }
        });
    }

    private static bool IsValid(char c, bool first, bool allowColon) =>
        char.IsAsciiLetter(c) || c == '_' || (allowColon && c == ':') || (!first && char.IsAsciiDigit(c));
}
