namespace Runtime.Telemetry.Prometheus;

/// <summary>Collects the samples of one scrape-time family (see <see cref="PrometheusExporter.AddCollector"/>).</summary>
internal sealed class PrometheusSampleWriter
{
    private readonly Dictionary<string, double> _samples = new(StringComparer.Ordinal);

    internal PrometheusSampleWriter()
    {
    }

    internal IReadOnlyDictionary<string, double> Samples => _samples;

    /// <summary>A sample without labels.</summary>
    public void Add(double value) => _samples[string.Empty] = value;

    /// <summary>A sample with one label.</summary>
    public void Add(string label, string labelValue, double value) =>
        Add([new KeyValuePair<string, string>(label, labelValue)], value);

    /// <summary>A sample with these labels; the same label set twice keeps the last value.</summary>
    public void Add(ReadOnlySpan<KeyValuePair<string, string>> labels, double value) =>
        _samples[PrometheusText.LabelBody(labels)] = value;
}
