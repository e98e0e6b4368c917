using System.Text;

namespace Runtime.ModelMetrics.Prometheus;

/// <summary>One sample of a page: slices of the page's bytes, valid while the page is.</summary>
internal readonly ref struct PrometheusSample
{
    internal PrometheusSample(ReadOnlySpan<byte> name, ReadOnlySpan<byte> labelBlock, bool hasEscapes, double value, long timestamp, bool hasTimestamp)
    {
        Name = name;
        LabelBlock = labelBlock;
        LabelsHaveEscapes = hasEscapes;
        Value = value;
        Timestamp = timestamp;
        HasTimestamp = hasTimestamp;
    }

    /// <summary>The metric name, e.g. <c>vllm:num_requests_waiting</c>.</summary>
    public ReadOnlySpan<byte> Name { get; }

    /// <summary>The text between the braces (already validated), empty when there are no labels.</summary>
    public ReadOnlySpan<byte> LabelBlock { get; }

    public bool LabelsHaveEscapes { get; }

    public double Value { get; }

    /// <summary>Milliseconds since the Unix epoch, when <see cref="HasTimestamp"/>.</summary>
    public long Timestamp { get; }

    public bool HasTimestamp { get; }

    public PrometheusLabelEnumerator Labels => new(LabelBlock);

    /// <summary>Finds a label by name (names never contain escapes).</summary>
    public bool TryGetLabel(ReadOnlySpan<byte> name, out PrometheusLabel label)
    {
        foreach (var candidate in Labels)
        {
            if (candidate.Name.SequenceEqual(name))
            {
                label = candidate;
                return true;
            }
        }

        label = default;
        return false;
    }

    public override string ToString() => $"{Encoding.UTF8.GetString(Name)}{{{Encoding.UTF8.GetString(LabelBlock)}}} {Value}";
}

/// <summary>One <c>name="value"</c> pair; <see cref="RawValue"/> still holds the escapes as written.</summary>
internal readonly ref struct PrometheusLabel
{
    internal PrometheusLabel(ReadOnlySpan<byte> name, ReadOnlySpan<byte> rawValue, bool hasEscapes)
    {
        Name = name;
        RawValue = rawValue;
        HasEscapes = hasEscapes;
    }

    public ReadOnlySpan<byte> Name { get; }

    /// <summary>The bytes between the quotes, escapes (<c>\\</c>, <c>\"</c>, <c>\n</c>) not decoded.</summary>
    public ReadOnlySpan<byte> RawValue { get; }

    public bool HasEscapes { get; }

    /// <summary>The decoded value's length in bytes.</summary>
    public int ValueLength
    {
        get
        {
            if (!HasEscapes)
            {
                return RawValue.Length;
            }

            var length = 0;
            for (var i = 0; i < RawValue.Length; i++, length++)
            {
                if (RawValue[i] == (byte)'\\')
                {
                    i++;
                }
            }

            return length;
        }
    }

    /// <summary>Compares the decoded value with <paramref name="expected"/> without decoding into memory.</summary>
    public bool ValueEquals(ReadOnlySpan<byte> expected)
    {
        if (!HasEscapes)
        {
            return RawValue.SequenceEqual(expected);
        }

        var j = 0;
        for (var i = 0; i < RawValue.Length; i++, j++)
        {
            var b = RawValue[i];
            if (b == (byte)'\\')
            {
                b = Unescape(RawValue[++i]);
            }

            if ((uint)j >= (uint)expected.Length || expected[j] != b)
            {
                return false;
            }
        }

        return j == expected.Length;
    }

    /// <summary>Decodes the value into <paramref name="destination"/>; the bytes written, or -1 if it is too small.</summary>
    public int CopyValueTo(Span<byte> destination)
    {
        if (!HasEscapes)
        {
            return RawValue.TryCopyTo(destination) ? RawValue.Length : -1;
        }

        var j = 0;
        for (var i = 0; i < RawValue.Length; i++, j++)
        {
            if ((uint)j >= (uint)destination.Length)
            {
                return -1;
            }

            var b = RawValue[i];
            destination[j] = b == (byte)'\\' ? Unescape(RawValue[++i]) : b;
        }

        return j;
    }

    /// <summary>The decoded value as a string (allocates; for values that changed).</summary>
    public string GetValueString()
    {
        if (!HasEscapes)
        {
            return Encoding.UTF8.GetString(RawValue);
        }

        var length = ValueLength;
        var buffer = length <= 256 ? stackalloc byte[256] : new byte[length];
        var written = CopyValueTo(buffer);
        return Encoding.UTF8.GetString(buffer[..written]);
    }

    // The reader accepts only these three escapes, so the byte after a backslash is one of them.
    private static byte Unescape(byte escaped) => escaped == (byte)'n' ? (byte)'\n' : escaped;
}

/// <summary>Enumerates the labels of a validated label block without allocating.</summary>
internal ref struct PrometheusLabelEnumerator
{
    private readonly ReadOnlySpan<byte> _block;
    private int _position;

    internal PrometheusLabelEnumerator(ReadOnlySpan<byte> block)
    {
        _block = block;
        _position = 0;
        Current = default;
    }

    public PrometheusLabel Current { get; private set; }

    public readonly PrometheusLabelEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (PrometheusTextReader.TryReadLabel(_block, ref _position, out var label, out _))
        {
            Current = label;
            return true;
        }

        _position = _block.Length;
        return false;
    }
}
