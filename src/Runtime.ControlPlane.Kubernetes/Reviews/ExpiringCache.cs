using System.Collections.Concurrent;

namespace Runtime.ControlPlane.Kubernetes.Reviews;

/// <summary>
/// Review answers kept for a while, so a scrape every few seconds costs the API server one review
/// per TTL rather than one per scrape. Expired entries are swept once the map grows past a bound,
/// so distinct bad tokens cannot grow it without limit.
/// </summary>
internal sealed class ExpiringCache<TValue>(TimeProvider time, int sweepAbove = 1024)
{
    private readonly ConcurrentDictionary<string, (TValue Value, long ExpiresAt)> _entries = new(StringComparer.Ordinal);

    public int Count => _entries.Count;

    public bool TryGet(string key, out TValue value)
    {
        if (_entries.TryGetValue(key, out var entry) && time.GetTimestamp() < entry.ExpiresAt)
        {
            value = entry.Value;
            return true;
        }

        value = default!;
        return false;
    }

    public void Set(string key, TValue value, TimeSpan ttl)
    {
        if (ttl <= TimeSpan.Zero)
        {
            return;
        }

        var now = time.GetTimestamp();
        if (_entries.Count >= sweepAbove)
        {
            foreach (var (k, entry) in _entries)
            {
                if (entry.ExpiresAt <= now)
                {
                    _entries.TryRemove(k, out _);
                }
            }

            if (_entries.Count >= sweepAbove * 4)
            {
                // Still full of live entries: start again rather than grow (a flood of distinct tokens).
                _entries.Clear();
            }
        }

        _entries[key] = (value, now + (long)(ttl.TotalSeconds * time.TimestampFrequency));
    }
}
