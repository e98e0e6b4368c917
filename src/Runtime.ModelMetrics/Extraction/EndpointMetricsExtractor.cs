using System.Buffers.Text;
using Runtime.Endpoints;
using Runtime.ModelMetrics.Mapping;
using Runtime.ModelMetrics.Prometheus;

namespace Runtime.ModelMetrics.Extraction;

/// <summary>
/// Reads the values of an <see cref="EngineMetricsMapping"/> from one metrics page in a single pass,
/// without allocating (<c>EndpointMetricsExtractionBenchmark</c>): only the requested
/// <see cref="MetricKinds"/> are matched, and LoRA adapter lists are reused while their label bytes
/// stay the same.
/// </summary>
/// <remarks>
/// Several series of one metric (a data-parallel pod publishes one per engine) are combined as
/// llm-d-router does: queue and running counts are summed, KV use is the largest. Non-finite values
/// are ignored; a value absent from the page keeps what <paramref name="reading"/> held.
/// </remarks>
internal static class EndpointMetricsExtractor
{
    private static ReadOnlySpan<byte> RunningAdaptersLabel => "running_lora_adapters"u8;

    private static ReadOnlySpan<byte> WaitingAdaptersLabel => "waiting_lora_adapters"u8;

    private static ReadOnlySpan<byte> MaxLoraLabel => "max_lora"u8;

    /// <summary>
    /// Fills <paramref name="reading"/> from <paramref name="page"/>. <paramref name="loraCache"/> is
    /// the endpoint's cache (null: adapter lists are always parsed anew).
    /// </summary>
    public static void Extract(ReadOnlySpan<byte> page, EngineMetricsMapping mapping, MetricKinds kinds, LoraAdapterCache? loraCache, ref MetricsReading reading)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        var queue = (kinds & MetricKinds.WaitingQueue) != 0 ? mapping.QueuedRequests : null;
        var running = (kinds & MetricKinds.RunningRequests) != 0 ? mapping.RunningRequests : null;
        var kv = (kinds & MetricKinds.KvCacheUsage) != 0 ? mapping.KvUsage : null;
        var kvFallback = kv is not null ? mapping.KvUsageFallback : null;
        var lora = (kinds & MetricKinds.LoraAdapters) != 0 ? mapping.Lora : null;
        var wantCache = (kinds & MetricKinds.CacheInfo) != 0;
        var cacheInfo = wantCache ? mapping.CacheInfo : null;
        var cacheBlockSize = wantCache ? mapping.CacheBlockSize : null;
        var cacheNumBlocks = wantCache ? mapping.CacheNumBlocks : null;

        double queueSum = 0, runningSum = 0, kvMax = double.MinValue, kvFallbackMax = double.MinValue;
        bool queueFound = false, runningFound = false, kvFound = false, kvFallbackFound = false;
        var loraBest = double.NegativeInfinity;
        var loraFound = false;
        PrometheusLabel loraRunning = default, loraWaiting = default, loraMax = default;
        bool hasLoraRunning = false, hasLoraWaiting = false, hasLoraMax = false;
        long blockSize = -1, numBlocks = -1;

        var reader = new PrometheusTextReader(page);
        while (reader.TryRead(out var sample))
        {
            var value = sample.Value;
            var finite = double.IsFinite(value);
            if (queue is not null && finite && Matches(queue, sample))
            {
                queueSum += value;
                queueFound = true;
            }
            else if (running is not null && finite && Matches(running, sample))
            {
                runningSum += value;
                runningFound = true;
            }
            else if (kv is not null && finite && Matches(kv, sample))
            {
                kvMax = Math.Max(kvMax, value);
                kvFound = true;
            }
            else if (kvFallback is not null && finite && Matches(kvFallback, sample))
            {
                kvFallbackMax = Math.Max(kvFallbackMax, value);
                kvFallbackFound = true;
            }
            else if (lora is not null && Matches(lora, sample))
            {
                // The value is the time the server last updated the series: the greatest is the newest.
                if (!loraFound || value > loraBest)
                {
                    loraFound = true;
                    loraBest = value;
                    hasLoraRunning = sample.TryGetLabel(RunningAdaptersLabel, out loraRunning);
                    hasLoraWaiting = sample.TryGetLabel(WaitingAdaptersLabel, out loraWaiting);
                    hasLoraMax = sample.TryGetLabel(MaxLoraLabel, out loraMax);
                }
            }
            else if (cacheInfo is not null && Matches(cacheInfo, sample))
            {
                if (sample.TryGetLabel(mapping.CacheBlockSizeLabelUtf8, out var sizeLabel) && TryParseLong(sizeLabel, out var size))
                {
                    blockSize = size;
                }

                if (sample.TryGetLabel(mapping.CacheNumBlocksLabelUtf8, out var blocksLabel) && TryParseLong(blocksLabel, out var blocks))
                {
                    numBlocks = blocks;
                }
            }
            else if (cacheBlockSize is not null && finite && value >= 0 && Matches(cacheBlockSize, sample))
            {
                blockSize = (long)value;
            }
            else if (cacheNumBlocks is not null && finite && value >= 0 && Matches(cacheNumBlocks, sample))
            {
                numBlocks = (long)value;
            }

        }

        var found = MetricKinds.None;
        if (queueFound)
        {
            reading.WaitingQueueSize = ToCount(queueSum);
            found |= MetricKinds.WaitingQueue;
        }

        if (runningFound)
        {
            reading.RunningRequests = ToCount(runningSum);
            found |= MetricKinds.RunningRequests;
        }

        if (kvFound || kvFallbackFound)
        {
            reading.KvCacheUsage = Math.Clamp(kvFound ? kvMax : kvFallbackMax, 0.0, 1.0);
            found |= MetricKinds.KvCacheUsage;
        }

        if (loraFound)
        {
            reading.ActiveLoraAdapters = hasLoraRunning ? Adapters(loraCache?.Running, loraRunning) : [];
            reading.WaitingLoraAdapters = hasLoraWaiting ? Adapters(loraCache?.Waiting, loraWaiting) : [];
            if (hasLoraMax && TryParseLong(loraMax, out var max))
            {
                reading.MaxLoraAdapters = (int)Math.Min(max, int.MaxValue);
            }

            found |= MetricKinds.LoraAdapters;
        }

        if (blockSize >= 0 || numBlocks >= 0)
        {
            if (blockSize >= 0)
            {
                reading.CacheBlockSize = (int)Math.Min(blockSize, int.MaxValue);
            }

            if (numBlocks >= 0)
            {
                reading.CacheGpuBlocks = numBlocks;
            }

            found |= MetricKinds.CacheInfo;
        }

        reading.Found = found;
        reading.Samples = reader.Samples;
        reading.MalformedLines = reader.MalformedLines;
    }

    // Names are compared first: it is one length check for almost every sample of the page.
    private static bool Matches(MetricSpec spec, in PrometheusSample sample) =>
        sample.Name.SequenceEqual(spec.NameUtf8) && spec.LabelsMatch(sample);

    private static int ToCount(double value) => (int)Math.Clamp(Math.Round(value), 0, int.MaxValue);

    private static IReadOnlyList<string> Adapters(LoraAdapterCache.AdapterList? cache, in PrometheusLabel label) =>
        cache is not null ? cache.Get(label) : new LoraAdapterCache.AdapterList().Get(label);

    /// <summary>Parses an integer label value (<c>"16"</c>; vLLM writes <c>"None"</c> before the cache is sized, which fails).</summary>
    private static bool TryParseLong(in PrometheusLabel label, out long value)
    {
        Span<byte> buffer = stackalloc byte[32];
        var length = label.CopyValueTo(buffer);
        value = 0;
        return length > 0 && Utf8Parser.TryParse(buffer[..length], out value, out var consumed) && consumed == length && value >= 0;
    }
}
