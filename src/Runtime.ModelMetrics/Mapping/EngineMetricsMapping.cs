using System.Text;

namespace Runtime.ModelMetrics.Mapping;

/// <summary>
/// The series one engine publishes for each value the scheduler reads (GIE's "model server
/// protocol" mapping). A null spec means the engine does not report that value.
/// </summary>
internal sealed record EngineMetricsMapping
{
    public const string DefaultCacheBlockSizeLabel = "block_size";
    public const string DefaultCacheNumBlocksLabel = "num_gpu_blocks";

    private readonly string _cacheBlockSizeLabel = DefaultCacheBlockSizeLabel;
    private readonly byte[] _cacheBlockSizeLabelUtf8 = "block_size"u8.ToArray();
    private readonly string _cacheNumBlocksLabel = DefaultCacheNumBlocksLabel;
    private readonly byte[] _cacheNumBlocksLabelUtf8 = "num_gpu_blocks"u8.ToArray();

    public required string Engine { get; init; }

    /// <summary>Waiting requests; summed over matching series (one per data-parallel engine).</summary>
    public MetricSpec? QueuedRequests { get; init; }

    /// <summary>Running requests; summed over matching series.</summary>
    public MetricSpec? RunningRequests { get; init; }

    /// <summary>KV-cache use in [0, 1]; the largest over matching series (the fullest engine).</summary>
    public MetricSpec? KvUsage { get; init; }

    /// <summary>Read only when <see cref="KvUsage"/> is absent from the page (older servers' name).</summary>
    public MetricSpec? KvUsageFallback { get; init; }

    /// <summary>
    /// vLLM-style info gauge whose labels list running and waiting adapters and <c>max_lora</c>; the
    /// series with the greatest value (the newest timestamp) wins.
    /// </summary>
    public MetricSpec? Lora { get; init; }

    /// <summary>Info gauge carrying block size and GPU block count as labels (vLLM, SGLang).</summary>
    public MetricSpec? CacheInfo { get; init; }

    /// <summary>The <see cref="CacheInfo"/> label holding the block size in tokens.</summary>
    public string CacheBlockSizeLabel
    {
        get => _cacheBlockSizeLabel;
        init
        {
            _cacheBlockSizeLabel = value;
            _cacheBlockSizeLabelUtf8 = Encoding.UTF8.GetBytes(value);
        }
    }

    /// <summary>The <see cref="CacheInfo"/> label holding the GPU block count.</summary>
    public string CacheNumBlocksLabel
    {
        get => _cacheNumBlocksLabel;
        init
        {
            _cacheNumBlocksLabel = value;
            _cacheNumBlocksLabelUtf8 = Encoding.UTF8.GetBytes(value);
        }
    }

    internal ReadOnlySpan<byte> CacheBlockSizeLabelUtf8 => _cacheBlockSizeLabelUtf8;

    internal ReadOnlySpan<byte> CacheNumBlocksLabelUtf8 => _cacheNumBlocksLabelUtf8;

    /// <summary>Block size as a gauge value, for engines without an info metric (Triton, trtllm-serve).</summary>
    public MetricSpec? CacheBlockSize { get; init; }

    /// <summary>GPU block count as a gauge value.</summary>
    public MetricSpec? CacheNumBlocks { get; init; }
}
