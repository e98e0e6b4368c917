using Runtime.ModelMetrics.Prometheus;

namespace Runtime.ModelMetrics.Dcgm;

/// <summary>
/// Reads an NVIDIA DCGM exporter page as llm-d v0.10's <c>dcgm-extractor</c> does: the samples of
/// <c>DCGM_FI_DEV_GPU_UTIL</c> (percent) that belong to the pod, the highest of them, divided by 100.
/// A sample belongs to the pod when it has no <c>pod</c> label (a sidecar's page) or its <c>pod</c>
/// label is the pod's name (a DaemonSet's page lists every pod of the node). Reads the page's bytes in
/// place: nothing is allocated.
/// </summary>
internal static class DcgmGpuUtilization
{
    public static ReadOnlySpan<byte> MetricName => "DCGM_FI_DEV_GPU_UTIL"u8;

    private static ReadOnlySpan<byte> PodLabel => "pod"u8;

    /// <summary>The pod's GPU utilisation in [0, 1] (readings over 100 % are kept as reported), or false when the page has no sample for it.</summary>
    /// <param name="podName">UTF-8 pod name; empty keeps every sample (llm-d: an endpoint without a name).</param>
    public static bool TryRead(ReadOnlySpan<byte> page, ReadOnlySpan<byte> podName, out double utilization, out int malformedLines)
    {
        var reader = new PrometheusTextReader(page);
        var max = 0.0;
        var found = false;
        while (reader.TryRead(out var sample))
        {
            if (!sample.Name.SequenceEqual(MetricName))
            {
                continue;
            }

            if (!podName.IsEmpty && sample.TryGetLabel(PodLabel, out var pod) && !pod.ValueEquals(podName))
            {
                continue;
            }

            // As llm-d: the maximum starts at 0, so negative (or NaN) readings count as 0.
            if (sample.Value > max)
            {
                max = sample.Value;
            }

            found = true;
        }

        malformedLines = reader.MalformedLines;
        utilization = found ? max / 100.0 : 0;
        return found;
    }
}
