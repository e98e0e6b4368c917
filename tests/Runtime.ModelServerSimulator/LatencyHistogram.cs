namespace Runtime.Simulation;

/// <summary>A thread-safe Prometheus-style histogram of durations in seconds.</summary>
internal sealed class LatencyHistogram
{
    private readonly Lock _lock = new();
    private readonly IReadOnlyList<double> _upperBounds;
    private readonly long[] _counts;
    private double _sum;
    private long _count;

    public LatencyHistogram(IReadOnlyList<double> upperBounds)
    {
        _upperBounds = upperBounds;
        _counts = new long[upperBounds.Count];
    }

    public void Observe(double seconds)
    {
        lock (_lock)
        {
            for (var i = 0; i < _upperBounds.Count; i++)
            {
                if (seconds <= _upperBounds[i])
                {
                    _counts[i]++;
                    break;
                }
            }

            _sum += seconds;
            _count++;
        }
    }

    public HistogramSnapshot Snapshot()
    {
        lock (_lock)
        {
            var cumulative = new long[_counts.Length];
            long running = 0;
            for (var i = 0; i < _counts.Length; i++)
            {
                running += _counts[i];
                cumulative[i] = running;
            }

            return new HistogramSnapshot(_upperBounds, cumulative, _sum, _count);
        }
    }
}
