using System.Runtime.CompilerServices;

namespace Runtime.Telemetry.Prometheus;

/// <summary>
/// The running aggregate of one label set of one instrument: a sum (counters, up-down counters),
/// a last value (gauges), or cumulative-on-render bucket counts plus sum (histograms).
/// </summary>
/// <remarks>
/// Writers update fields with interlocked operations only; the scrape reads them without a lock, so
/// a histogram's sum may trail its counts by the measurements in flight (the Prometheus Go client
/// makes the same trade). Its count is the total of its buckets, so <c>_count</c> always equals the
/// <c>+Inf</c> bucket.
/// </remarks>
internal sealed class Series
{
    private long _long;
    private double _double;

    public Series(KeyValuePair<string, object?>[] tags, int hash, int bucketCount)
    {
        Tags = tags;
        Hash = hash;
        Buckets = bucketCount > 0 ? new long[bucketCount] : null;
        var labels = new KeyValuePair<string, string>[tags.Length];
        for (var i = 0; i < tags.Length; i++)
        {
            labels[i] = new(tags[i].Key, PrometheusText.LabelValue(tags[i].Value));
        }

        LabelBody = PrometheusText.LabelBody(labels);
    }

    /// <summary>The tags as first recorded (a private copy).</summary>
    public KeyValuePair<string, object?>[] Tags { get; }

    public int Hash { get; }

    /// <summary>Rendered labels without braces, sorted by name.</summary>
    public string LabelBody { get; }

    /// <summary>One slot per finite boundary plus the <c>+Inf</c> slot (not cumulative); null unless a histogram.</summary>
    public long[]? Buckets { get; }

    /// <summary>Integer sum, or the count of a histogram's observations is derived from <see cref="Buckets"/>.</summary>
    public long LongValue => Volatile.Read(ref _long);

    /// <summary>Floating sum (counters of double) or histogram sum, or the last gauge value.</summary>
    public double DoubleValue => Volatile.Read(ref _double);

    public double Value => LongValue + DoubleValue;

    public long Count
    {
        get
        {
            long total = 0;
            foreach (ref var bucket in Buckets.AsSpan())
            {
                total += Volatile.Read(ref bucket);
            }

            return total;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddLong(long value) => Interlocked.Add(ref _long, value);

    public void AddDouble(double value)
    {
        var current = Volatile.Read(ref _double);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref _double, current + value, current);
            if (BitConverter.DoubleToInt64Bits(seen) == BitConverter.DoubleToInt64Bits(current))
            {
                return;
            }

            current = seen;
        }
    }

    public void SetDouble(double value) => Volatile.Write(ref _double, value);

    public void Observe(int bucket, double value)
    {
        Interlocked.Increment(ref Buckets![bucket]);
        AddDouble(value);
    }

    /// <summary>Whether <paramref name="tags"/> is the same set of pairs as this series' tags, in any order.</summary>
    public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var mine = Tags;
        if (mine.Length != tags.Length)
        {
            return false;
        }

        for (var i = 0; i < tags.Length; i++)
        {
            // Same call site, same order: the common case finds its pair at the same index.
            if (!PairEquals(mine[i], tags[i]) && !ContainsPair(mine, tags[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool ContainsPair(KeyValuePair<string, object?>[] pairs, KeyValuePair<string, object?> pair)
    {
        foreach (var candidate in pairs)
        {
            if (PairEquals(candidate, pair))
            {
                return true;
            }
        }

        return false;
    }

    private static bool PairEquals(KeyValuePair<string, object?> a, KeyValuePair<string, object?> b) =>
        string.Equals(a.Key, b.Key, StringComparison.Ordinal) &&
        (a.Value is string sa ? b.Value is string sb && string.Equals(sa, sb, StringComparison.Ordinal) : Equals(a.Value, b.Value));
}
