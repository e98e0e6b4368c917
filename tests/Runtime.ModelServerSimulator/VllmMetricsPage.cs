using System.Globalization;
using System.Text;

namespace Runtime.Simulation;

/// <summary>The values one /metrics page reports.</summary>
public sealed record VllmMetricsSnapshot
{
    public string ModelName { get; init; } = SimulatorOptions.DefaultModel;

    public int Waiting { get; init; }

    public int Running { get; init; }

    /// <summary>0..1.</summary>
    public double KvCacheUsage { get; init; }

    /// <summary>0 leaves <c>vllm:lora_requests_info</c> out, as vLLM does without LoRA.</summary>
    public int MaxLora { get; init; } = 4;

    public IReadOnlyList<string> RunningLoraAdapters { get; init; } = [];

    public IReadOnlyList<string> WaitingLoraAdapters { get; init; } = [];

    public int BlockSize { get; init; } = 16;

    public int NumGpuBlocks { get; init; } = 2048;

    public long PromptTokensTotal { get; init; }

    public long GenerationTokensTotal { get; init; }

    /// <summary>Finished requests, by finish reason: "stop" (natural end) and "length" (max_tokens).</summary>
    public long RequestsFinishedStop { get; init; }

    public long RequestsFinishedLength { get; init; }

    /// <summary>Null renders an empty histogram.</summary>
    public HistogramSnapshot? TimeToFirstToken { get; init; }

    /// <summary>
    /// Unix time in seconds: the value of <c>vllm:lora_requests_info</c> (vLLM publishes the time
    /// of the last change there) and of the <c>_created</c> series. 0 means now.
    /// </summary>
    public double Timestamp { get; init; }

    /// <summary>Adds filler series until the page has at least this many samples.</summary>
    public int PadToSeries { get; init; }
}

/// <summary>A Prometheus histogram: counts are cumulative per upper bound, +Inf is <see cref="Count"/>.</summary>
public sealed record HistogramSnapshot(IReadOnlyList<double> UpperBounds, IReadOnlyList<long> CumulativeCounts, double Sum, long Count);

/// <summary>
/// Renders a vLLM-style Prometheus text page (exposition format 0.0.4) the way vLLM's
/// prometheus_client does: <c># HELP</c>/<c># TYPE</c> per family, labels
/// <c>model_name</c> and <c>engine</c>, float values ("2.0", "1.723456789e+09"), <c>_created</c>
/// series for counters and histograms. Benchmarks can call <see cref="Render"/> without a server.
/// </summary>
public static class VllmMetricsPage
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>vLLM's buckets for <c>vllm:time_to_first_token_seconds</c>.</summary>
    public static IReadOnlyList<double> TimeToFirstTokenBuckets { get; } =
        [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0];

    public static string Render(VllmMetricsSnapshot snapshot)
    {
        var page = new StringBuilder(4096);
        Render(snapshot, page);
        return page.ToString();
    }

    /// <summary>Appends the page and returns how many samples (non-comment lines) it has.</summary>
    public static int Render(VllmMetricsSnapshot snapshot, StringBuilder page)
    {
        var timestamp = snapshot.Timestamp > 0 ? snapshot.Timestamp : DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        var labels = $"model_name=\"{Escape(snapshot.ModelName)}\",engine=\"0\"";
        var samples = 0;

        Family(page, "vllm:num_requests_running", "gauge", "Number of requests in model execution batches.");
        Sample(page, ref samples, "vllm:num_requests_running", labels, snapshot.Running);
        Family(page, "vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.");
        Sample(page, ref samples, "vllm:num_requests_waiting", labels, snapshot.Waiting);
        Family(page, "vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.");
        Sample(page, ref samples, "vllm:kv_cache_usage_perc", labels, Math.Clamp(snapshot.KvCacheUsage, 0, 1));

        if (snapshot.MaxLora > 0)
        {
            Family(page, "vllm:lora_requests_info", "gauge", "Running stats on lora requests.");
            var loraLabels = string.Create(
                CultureInfo.InvariantCulture,
                $"max_lora=\"{snapshot.MaxLora}\",waiting_lora_adapters=\"{Escape(string.Join(',', snapshot.WaitingLoraAdapters))}\",running_lora_adapters=\"{Escape(string.Join(',', snapshot.RunningLoraAdapters))}\"");
            Sample(page, ref samples, "vllm:lora_requests_info", loraLabels, timestamp);
        }

        Family(page, "vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig");
        var cacheLabels = string.Create(
            CultureInfo.InvariantCulture,
            $"block_size=\"{snapshot.BlockSize}\",cache_dtype=\"auto\",enable_prefix_caching=\"True\",engine=\"0\",gpu_memory_utilization=\"0.9\",num_cpu_blocks=\"None\",num_gpu_blocks=\"{snapshot.NumGpuBlocks}\",prefix_caching_hash_algo=\"builtin\",swap_space=\"4\"");
        Sample(page, ref samples, "vllm:cache_config_info", cacheLabels, 1);

        Counter(page, ref samples, "vllm:num_preemptions", "Cumulative number of preemption from the engine.", labels, 0, timestamp);
        Counter(page, ref samples, "vllm:prompt_tokens", "Number of prefill tokens processed.", labels, snapshot.PromptTokensTotal, timestamp);
        Counter(page, ref samples, "vllm:generation_tokens", "Number of generation tokens processed.", labels, snapshot.GenerationTokensTotal, timestamp);
        Counter(page, ref samples, "vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.", labels, snapshot.PromptTokensTotal, timestamp);
        Counter(page, ref samples, "vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", labels, 0, timestamp);

        Family(page, "vllm:request_success_total", "counter", "Count of successfully processed requests.");
        foreach (var (reason, count) in (ReadOnlySpan<(string, long)>)[("stop", snapshot.RequestsFinishedStop), ("length", snapshot.RequestsFinishedLength), ("abort", 0)])
        {
            var reasonLabels = $"{labels},finished_reason=\"{reason}\"";
            Sample(page, ref samples, "vllm:request_success_total", reasonLabels, count);
            Sample(page, ref samples, "vllm:request_success_created", reasonLabels, timestamp);
        }

        var ttft = snapshot.TimeToFirstToken ?? new HistogramSnapshot(TimeToFirstTokenBuckets, new long[TimeToFirstTokenBuckets.Count], 0, 0);
        Family(page, "vllm:time_to_first_token_seconds", "histogram", "Histogram of time to first token in seconds.");
        for (var i = 0; i < ttft.UpperBounds.Count; i++)
        {
            Sample(page, ref samples, "vllm:time_to_first_token_seconds_bucket", $"{labels},le=\"{FormatValue(ttft.UpperBounds[i])}\"", ttft.CumulativeCounts[i]);
        }

        Sample(page, ref samples, "vllm:time_to_first_token_seconds_bucket", $"{labels},le=\"+Inf\"", ttft.Count);
        Sample(page, ref samples, "vllm:time_to_first_token_seconds_count", labels, ttft.Count);
        Sample(page, ref samples, "vllm:time_to_first_token_seconds_sum", labels, ttft.Sum);
        Sample(page, ref samples, "vllm:time_to_first_token_seconds_created", labels, timestamp);

        if (samples < snapshot.PadToSeries)
        {
            // Filler stands in for the many series a real page carries (python_gc_*, process_*,
            // more histograms) that a scraper has to read past.
            Family(page, "vllm:sim_padding", "gauge", "Filler series from the model-server simulator.");
            for (var index = 0; samples < snapshot.PadToSeries; index++)
            {
                Sample(page, ref samples, "vllm:sim_padding", string.Create(CultureInfo.InvariantCulture, $"{labels},index=\"{index}\""), index);
            }
        }

        return samples;
    }

    /// <summary>Formats a sample value like prometheus_client's floatToGoString.</summary>
    public static string FormatValue(double value)
    {
        if (double.IsPositiveInfinity(value))
        {
            return "+Inf";
        }

        if (double.IsNegativeInfinity(value))
        {
            return "-Inf";
        }

        if (double.IsNaN(value))
        {
            return "NaN";
        }

        var text = value.ToString("R", CultureInfo.InvariantCulture);
        if (text.Contains('E', StringComparison.Ordinal))
        {
            return text.Replace("E", "e", StringComparison.Ordinal);
        }

        if (!text.Contains('.', StringComparison.Ordinal))
        {
            text += ".0"; // Python's repr of a float
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (value > 0 && dot > 6)
        {
            // Python prints large floats in full; prometheus_client switches to Go's exponent form.
            var mantissa = (text[0] + "." + text[1..dot] + text[(dot + 1)..]).TrimEnd('0').TrimEnd('.');
            return string.Create(CultureInfo.InvariantCulture, $"{mantissa}e+{dot - 1:00}");
        }

        return text;
    }

    private static void Family(StringBuilder page, string name, string type, string help)
    {
        page.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        page.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    private static void Counter(StringBuilder page, ref int samples, string name, string help, string labels, double value, double created)
    {
        Family(page, name + "_total", "counter", help);
        Sample(page, ref samples, name + "_total", labels, value);
        Sample(page, ref samples, name + "_created", labels, created);
    }

    private static void Sample(StringBuilder page, ref int samples, string name, string labels, double value)
    {
        page.Append(name).Append('{').Append(labels).Append("} ").Append(FormatValue(value)).Append('\n');
        samples++;
    }

    private static string Escape(string labelValue) =>
        labelValue.Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal);
}
