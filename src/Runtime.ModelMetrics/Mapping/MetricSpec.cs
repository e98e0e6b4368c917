using System.Text;
using Runtime.ModelMetrics.Prometheus;

namespace Runtime.ModelMetrics.Mapping;

/// <summary>
/// Which series of a page carries a value: a metric name with optional exact label matchers, written
/// as GIE writes them (PromQL instant-vector selector syntax): <c>vllm:num_requests_waiting</c>,
/// <c>nv_trt_llm_request_metrics{request_type="waiting"}</c> or, unquoted,
/// <c>nv_trt_llm_request_metrics{request_type=waiting}</c>.
/// </summary>
internal sealed class MetricSpec
{
    private readonly byte[] _nameUtf8;
    private readonly byte[][] _labelNames;
    private readonly byte[][] _labelValues;

    private MetricSpec(string name, IReadOnlyList<KeyValuePair<string, string>> labels)
    {
        Name = name;
        Labels = labels;
        _nameUtf8 = Encoding.UTF8.GetBytes(name);
        _labelNames = labels.Select(l => Encoding.UTF8.GetBytes(l.Key)).ToArray();
        _labelValues = labels.Select(l => Encoding.UTF8.GetBytes(l.Value)).ToArray();
    }

    public string Name { get; }

    public IReadOnlyList<KeyValuePair<string, string>> Labels { get; }

    internal ReadOnlySpan<byte> NameUtf8 => _nameUtf8;

    /// <summary>Parses a spec; throws <see cref="FormatException"/> when it is invalid (config load only).</summary>
    public static MetricSpec Parse(string text) =>
        TryParse(text, out var spec, out var error) && spec is not null ? spec : throw new FormatException(error ?? "empty metric specification");

    /// <summary>
    /// Parses a spec. An empty or blank string parses to a null spec (GIE: the metric is disabled).
    /// </summary>
    public static bool TryParse(string? text, out MetricSpec? spec, out string? error)
    {
        spec = null;
        error = null;
        var s = (text ?? string.Empty).AsSpan().Trim();
        if (s.IsEmpty)
        {
            return true;
        }

        var nameLength = 0;
        while (nameLength < s.Length && IsNameChar(s[nameLength], nameLength == 0, allowColon: true))
        {
            nameLength++;
        }

        if (nameLength == 0)
        {
            error = $"not a valid metric specification: \"{text}\"";
            return false;
        }

        var name = s[..nameLength].ToString();
        var rest = s[nameLength..].TrimStart();
        var labels = new List<KeyValuePair<string, string>>();
        if (!rest.IsEmpty)
        {
            if (rest[0] != '{' || rest[^1] != '}')
            {
                error = $"not a valid metric specification: \"{text}\"";
                return false;
            }

            var block = rest[1..^1];
            foreach (var range in block.Split(','))
            {
                var pair = block[range].Trim();
                if (pair.IsEmpty && range.End.GetOffset(block.Length) == block.Length)
                {
                    continue; // trailing comma or empty block
                }

                if (!TryParsePair(pair, out var label))
                {
                    error = $"invalid label pair \"{pair}\" in specification: \"{text}\"";
                    return false;
                }

                labels.Add(label);
            }
        }

        spec = new MetricSpec(name, labels);
        return true;
    }

    /// <summary>True when the sample has this name and every label matcher holds.</summary>
    public bool Matches(in PrometheusSample sample) => sample.Name.SequenceEqual(_nameUtf8) && LabelsMatch(sample);

    /// <summary>The label matchers only (the caller compared the name).</summary>
    internal bool LabelsMatch(in PrometheusSample sample)
    {
        for (var i = 0; i < _labelNames.Length; i++)
        {
            if (!sample.TryGetLabel(_labelNames[i], out var label) || !label.ValueEquals(_labelValues[i]))
            {
                return false;
            }
        }

        return true;
    }

    public override string ToString() =>
        Labels.Count == 0 ? Name : $"{Name}{{{string.Join(",", Labels.Select(l => $"{l.Key}=\"{l.Value}\""))}}}";

    private static bool TryParsePair(ReadOnlySpan<char> pair, out KeyValuePair<string, string> label)
    {
        label = default;
        var eq = pair.IndexOf('=');
        if (eq <= 0)
        {
            return false;
        }

        var key = pair[..eq].Trim();
        var value = pair[(eq + 1)..].Trim();
        for (var i = 0; i < key.Length; i++)
        {
            if (!IsNameChar(key[i], i == 0, allowColon: false))
            {
                return false;
            }
        }

        if (key.IsEmpty || key.StartsWith("__", StringComparison.Ordinal))
        {
            return false;
        }

        if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
        {
            value = value[1..^1];
            if (value.Contains('"'))
            {
                return false;
            }
        }
        else if (value.IsEmpty || value.IndexOfAny("\" \t{}") >= 0)
        {
            return false;
        }

        label = new(key.ToString(), value.ToString());
        return true;
    }

    private static bool IsNameChar(char c, bool first, bool allowColon) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_' || (allowColon && c == ':') || (!first && c is >= '0' and <= '9');
}
