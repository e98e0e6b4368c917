namespace Runtime.Endpoints;

/// <summary>
/// What one scrape of a model server reported. Immutable: the scraper publishes a new instance per
/// scrape (a few per endpoint per second, off the request path), so readers never see a half update.
/// </summary>
public sealed class EndpointMetrics
{
    /// <summary>Nothing scraped yet: counts as stale everywhere.</summary>
    public static readonly EndpointMetrics None = new() { UpdatedAtTimestamp = long.MinValue };

    /// <summary>Requests waiting in the server's queue.</summary>
    public int WaitingQueueSize { get; init; }

    /// <summary>Requests the server is running.</summary>
    public int RunningRequests { get; init; }

    /// <summary>KV-cache utilisation in [0, 1].</summary>
    public double KvCacheUsage { get; init; }

    /// <summary>LoRA adapters loaded and running.</summary>
    public IReadOnlyList<string> ActiveLoraAdapters { get; init; } = [];

    /// <summary>LoRA adapters requested but waiting for a slot.</summary>
    public IReadOnlyList<string> WaitingLoraAdapters { get; init; } = [];

    /// <summary>How many adapters the server can hold at once (0 = unknown).</summary>
    public int MaxLoraAdapters { get; init; }

    /// <summary>KV-cache block size in tokens (0 = not reported).</summary>
    public int CacheBlockSize { get; init; }

    /// <summary>KV-cache blocks on the GPU (0 = not reported).</summary>
    public long CacheGpuBlocks { get; init; }

    /// <summary>When the scrape completed, as <see cref="TimeProvider.GetTimestamp"/>.</summary>
    public long UpdatedAtTimestamp { get; init; }

    public bool HasActiveLoraAdapter(string adapter) => Contains(ActiveLoraAdapters, adapter);

    public bool HasWaitingLoraAdapter(string adapter) => Contains(WaitingLoraAdapters, adapter);

    /// <summary>How long ago the scrape completed; <see cref="TimeSpan.MaxValue"/> if never.</summary>
    public TimeSpan Age(TimeProvider time) =>
        UpdatedAtTimestamp == long.MinValue ? TimeSpan.MaxValue : time.GetElapsedTime(UpdatedAtTimestamp);

    private static bool Contains(IReadOnlyList<string> list, string value)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (string.Equals(list[i], value, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
