using Runtime.Endpoints;
using Runtime.ModelMetrics.Extraction;
using Runtime.ModelMetrics.Mapping;
using Runtime.ModelMetrics.Prometheus;

namespace Runtime.Fuzz.Targets;

/// <summary>
/// The Prometheus text parser that reads model servers' /metrics pages, and the extraction of
/// the picker's metrics from them for every built-in engine mapping. Invariants: nothing throws;
/// samples plus malformed lines never exceed the page's lines; every label value unescapes to
/// its announced length, and ValueEquals agrees with the unescaped bytes.
/// </summary>
internal static class PrometheusTarget
{
    private static readonly LoraAdapterCache s_cache = new();

    public static void Run(byte[] input)
    {
        var reader = new PrometheusTextReader(input);
        var buffer = new byte[256];
        while (reader.TryRead(out var sample))
        {
            FuzzAssert.True(!sample.Name.IsEmpty, "a sample without a name");
            foreach (var label in sample.Labels)
            {
                var length = label.ValueLength;
                if (buffer.Length < length)
                {
                    buffer = new byte[length];
                }

                var written = label.CopyValueTo(buffer);
                FuzzAssert.True(written == length, $"label value unescaped to {written} bytes, announced {length}");
                FuzzAssert.True(label.ValueEquals(buffer.AsSpan(0, written)), "ValueEquals is false for the label's own value");
                label.GetValueString();
            }

            sample.TryGetLabel("model_name"u8, out _);
        }

        var lines = input.AsSpan().Count((byte)'\n') + 1;
        FuzzAssert.True(reader.Samples + reader.MalformedLines <= lines, $"{reader.Samples} samples and {reader.MalformedLines} malformed lines from {lines} lines");

        foreach (var mapping in BuiltInEngineMappings.All.Values)
        {
            var reading = MetricsReading.From(EndpointMetrics.None);
            EndpointMetricsExtractor.Extract(input, mapping, MetricKinds.All, s_cache, ref reading);
        }
    }
}
