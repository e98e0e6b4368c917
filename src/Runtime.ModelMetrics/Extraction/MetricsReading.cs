using Runtime.Endpoints;

namespace Runtime.ModelMetrics.Extraction;

/// <summary>
/// The values one page yielded, on the stack: extraction fills it without allocating, starting from
/// the previous metrics so a value missing from the page keeps its last known value.
/// <see cref="ToMetrics"/> then makes the immutable <see cref="EndpointMetrics"/> to publish.
/// </summary>
internal struct MetricsReading
{
    public int WaitingQueueSize { get; set; }

    public int RunningRequests { get; set; }

    public double KvCacheUsage { get; set; }

    public IReadOnlyList<string> ActiveLoraAdapters { get; set; }

    public IReadOnlyList<string> WaitingLoraAdapters { get; set; }

    public int MaxLoraAdapters { get; set; }

    public int CacheBlockSize { get; set; }

    public long CacheGpuBlocks { get; set; }

    /// <summary>The requested kinds the page actually carried.</summary>
    public MetricKinds Found { get; set; }

    /// <summary>Valid samples on the page.</summary>
    public int Samples { get; set; }

    /// <summary>Lines of the page that were not valid samples, comments or blank.</summary>
    public int MalformedLines { get; set; }

    /// <summary>A reading that starts from <paramref name="previous"/>'s values.</summary>
    public static MetricsReading From(EndpointMetrics previous)
    {
        ArgumentNullException.ThrowIfNull(previous);
        return new MetricsReading
        {
            WaitingQueueSize = previous.WaitingQueueSize,
            RunningRequests = previous.RunningRequests,
            KvCacheUsage = previous.KvCacheUsage,
            ActiveLoraAdapters = previous.ActiveLoraAdapters,
            WaitingLoraAdapters = previous.WaitingLoraAdapters,
            MaxLoraAdapters = previous.MaxLoraAdapters,
            CacheBlockSize = previous.CacheBlockSize,
            CacheGpuBlocks = previous.CacheGpuBlocks,
        };
    }

    public readonly EndpointMetrics ToMetrics(long updatedAtTimestamp) => new()
    {
        WaitingQueueSize = WaitingQueueSize,
        RunningRequests = RunningRequests,
        KvCacheUsage = KvCacheUsage,
        ActiveLoraAdapters = ActiveLoraAdapters ?? [],
        WaitingLoraAdapters = WaitingLoraAdapters ?? [],
        MaxLoraAdapters = MaxLoraAdapters,
        CacheBlockSize = CacheBlockSize,
        CacheGpuBlocks = CacheGpuBlocks,
        UpdatedAtTimestamp = updatedAtTimestamp,
    };
}
