namespace Runtime.ExtProc.Buffers;

/// <summary>
/// The process-wide ceiling on bytes held by body accumulators (<c>--max-buffered-body-bytes</c>):
/// every <see cref="BodyBuffer"/> segment is charged here while it is held. A request whose body
/// would pass the ceiling is refused (429) instead of growing the process until the kernel or
/// the container's limit kills it with every other request in flight. Response bodies are
/// charged but never refused: the request was already admitted.
/// </summary>
internal sealed class BodyBufferBudget(long limit)
{
    public const string HeldGaugeName = "runtime_buffered_body_bytes";
    public const string HeldGaugeHelp = "Bytes held by request and response bodies being accumulated, across all streams.";
    public const string LimitGaugeName = "runtime_buffered_body_limit_bytes";
    public const string LimitGaugeHelp = "The ceiling on buffered body bytes (--max-buffered-body-bytes); requests past it are answered 429.";
    public const string RejectedCounterName = "runtime_buffered_body_rejections_total";
    public const string RejectedCounterHelp = "Requests answered 429 because their body would have passed --max-buffered-body-bytes.";

    /// <summary>No ceiling (tests and embedders that bound memory elsewhere).</summary>
    public static BodyBufferBudget Unlimited { get; } = new(long.MaxValue);

    private long _held;
    private long _rejected;

    public long Limit { get; } = limit > 0 ? limit : throw new ArgumentOutOfRangeException(nameof(limit), "must be positive");

    public long Held => Volatile.Read(ref _held);

    public long Rejected => Volatile.Read(ref _rejected);

    /// <summary>
    /// A default for this machine: a quarter of the memory the GC may use (the container's limit
    /// when there is one), so bodies cannot take the process past it.
    /// </summary>
    public static long DefaultLimit() => Math.Max(64L * 1024 * 1024, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4);

    /// <summary>Charges <paramref name="bytes"/> unless that would pass the limit.</summary>
    public bool TryReserve(long bytes)
    {
        if (Interlocked.Add(ref _held, bytes) <= Limit)
        {
            return true;
        }

        Interlocked.Add(ref _held, -bytes);
        return false;
    }

    /// <summary>Charges <paramref name="bytes"/> whatever the limit (a body already admitted).</summary>
    public void Reserve(long bytes) => Interlocked.Add(ref _held, bytes);

    public void Release(long bytes) => Interlocked.Add(ref _held, -bytes);

    public void CountRejection() => Interlocked.Increment(ref _rejected);
}
