namespace Runtime.FlowControl.Stats;

/// <summary>
/// A fixed-bucket histogram of durations for Prometheus-style export
/// (<c>request_queue_duration_seconds</c>, <c>dispatch_cycle_duration_seconds</c>). Recording is
/// lock-free and allocation-free (<see cref="Interlocked"/> adds); a snapshot may be torn between
/// buckets by concurrent records, which metrics scrapes tolerate.
/// </summary>
internal sealed class DurationHistogram
{
    private readonly double[] _bounds;
    private readonly long[] _counts;
    private long _sumNanoseconds;

    public DurationHistogram(double[] upperBoundsSeconds)
    {
        _bounds = upperBoundsSeconds;
        _counts = new long[upperBoundsSeconds.Length + 1];
    }

    /// <summary>GIE's queue-duration buckets (seconds).</summary>
    public static double[] QueueDurationBounds() =>
        [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60];

    /// <summary>Dispatch-cycle buckets (seconds): cycles are microseconds.</summary>
    public static double[] DispatchCycleBounds() =>
        [0.000001, 0.000002, 0.000005, 0.00001, 0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.005, 0.01];

    public void Record(TimeSpan duration)
    {
        double seconds = duration.TotalSeconds;
        int bucket = 0;
        while (bucket < _bounds.Length && seconds > _bounds[bucket])
        {
            bucket++;
        }

        Interlocked.Increment(ref _counts[bucket]);
        Interlocked.Add(ref _sumNanoseconds, (long)(seconds * 1e9));
    }

    public HistogramSnapshot Snapshot()
    {
        var counts = new long[_counts.Length];
        for (int i = 0; i < counts.Length; i++)
        {
            counts[i] = Volatile.Read(ref _counts[i]);
        }

        return new HistogramSnapshot(_bounds, counts, Volatile.Read(ref _sumNanoseconds) / 1e9);
    }
}

/// <summary>Bucket counts (not cumulative; the last is +Inf) and the sum in seconds.</summary>
internal sealed record HistogramSnapshot(IReadOnlyList<double> UpperBoundsSeconds, IReadOnlyList<long> Counts, double SumSeconds)
{
    public long Count => Counts.Sum();
}
