namespace Runtime.Endpoints;

/// <summary>
/// Named numeric attributes of one endpoint that data-layer extractors publish and scheduling
/// plugins read (llm-d's endpoint attributes, e.g. <c>GPUUtilization/dcgm-extractor</c> from the
/// DCGM extractor, read by <c>endpoint-attribute-filter</c> and <c>-scorer</c>). A value stays until
/// it is overwritten, as in llm-d.
/// </summary>
/// <remarks>
/// Reads are lock-free and allocate nothing: a linear scan of an immutable slot array with ordinal
/// key comparison (an endpoint carries a handful of attributes). A known key is updated in place; only
/// the first write of a new key copies the array, under a lock.
/// </remarks>
internal sealed class EndpointAttributes
{
    private readonly Lock _lock = new();
    private Slot[] _slots = [];

    /// <summary>How many keys have a value.</summary>
    public int Count => Volatile.Read(ref _slots).Length;

    public bool TryGet(string key, out double value)
    {
        foreach (var slot in Volatile.Read(ref _slots))
        {
            if (string.Equals(slot.Key, key, StringComparison.Ordinal))
            {
                value = slot.Value;
                return true;
            }
        }

        value = 0;
        return false;
    }

    public void Set(string key, double value)
    {
        ArgumentNullException.ThrowIfNull(key);
        foreach (var slot in Volatile.Read(ref _slots))
        {
            if (string.Equals(slot.Key, key, StringComparison.Ordinal))
            {
                slot.Value = value;
                return;
            }
        }

        lock (_lock)
        {
            foreach (var slot in _slots)
            {
                if (string.Equals(slot.Key, key, StringComparison.Ordinal))
                {
                    slot.Value = value;
                    return;
                }
            }

            Volatile.Write(ref _slots, [.. _slots, new Slot(key) { Value = value }]);
        }
    }

    private sealed class Slot(string key)
    {
        private double _value;

        public string Key { get; } = key;

        public double Value
        {
            get => Volatile.Read(ref _value);
            set => Volatile.Write(ref _value, value);
        }
    }
}
