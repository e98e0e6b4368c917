namespace Runtime.FlowControl.Registry;

/// <summary>Who created a band, which decides whether the control plane may remove it.</summary>
public enum PriorityBandKind
{
    /// <summary>Listed in <c>priorityBands</c>: never removed.</summary>
    Static,

    /// <summary>Band 0, the demotion target: never removed.</summary>
    Zero,

    /// <summary>Created just in time or by the control plane's desired set: drained and removed when it leaves that set.</summary>
    Dynamic,
}

/// <summary>
/// One priority band across all shards: its options, its capacity counters, its drain state,
/// and its per-shard queues.
/// </summary>
/// <remarks>
/// Admission and removal meet without a lock (a Dekker handshake): admission increments
/// <see cref="_requests"/> with <see cref="Interlocked"/> (a full fence) and then reads
/// <see cref="_draining"/>; <see cref="MarkDraining"/> sets the flag with
/// <see cref="Interlocked.Exchange(ref int, int)"/> (a full fence) before the registry reads the
/// count under its writer lock. So either admission sees the band draining and backs out, or the
/// registry sees a non-zero count and waits for the last request to leave.
/// </remarks>
internal sealed class PriorityBand
{
    private long _requests;
    private long _bytes;
    private int _draining;

    public PriorityBand(PriorityBandOptions options, PriorityBandKind kind, int shardCount)
    {
        Options = options;
        Kind = kind;
        PerShard = new ShardBand[shardCount];
        for (int i = 0; i < shardCount; i++)
        {
            PerShard[i] = new ShardBand(this);
        }
    }

    public PriorityBandOptions Options { get; }

    public int Priority => Options.Priority;

    public PriorityBandKind Kind { get; }

    public ShardBand[] PerShard { get; }

    public bool IsDraining => Volatile.Read(ref _draining) != 0;

    public long Requests => Volatile.Read(ref _requests);

    public long Bytes => Volatile.Read(ref _bytes);

    public void MarkDraining() => Interlocked.Exchange(ref _draining, 1);

    public void Reactivate() => Interlocked.Exchange(ref _draining, 0);

    /// <summary>Counts a request in; false (and nothing counted) when over this band's limits.</summary>
    public bool TryReserve(long bytes)
    {
        long requests = Interlocked.Increment(ref _requests);
        long total = Interlocked.Add(ref _bytes, bytes);
        if ((Options.MaxRequests > 0 && requests > Options.MaxRequests) || (Options.MaxBytes > 0 && total > Options.MaxBytes))
        {
            Release(bytes);
            return false;
        }

        return true;
    }

    /// <summary>Counts a request out; returns the requests still counted.</summary>
    public long Release(long bytes)
    {
        Interlocked.Add(ref _bytes, -bytes);
        return Interlocked.Decrement(ref _requests);
    }
}

/// <summary>
/// The immutable band table: bands by descending priority. Published by the registry with
/// <see cref="Volatile.Write{T}(ref T, T)"/> and read with <see cref="Volatile.Read{T}(ref readonly T)"/>:
/// release/acquire ordering makes a reader see fully constructed bands; readers never lock.
/// </summary>
internal sealed class BandTable
{
    private readonly int[] _priorities;

    public BandTable(PriorityBand[] bands)
    {
        Array.Sort(bands, static (a, b) => b.Priority.CompareTo(a.Priority));
        Bands = bands;
        _priorities = Array.ConvertAll(bands, static band => band.Priority);
    }

    /// <summary>Highest priority first.</summary>
    public PriorityBand[] Bands { get; }

    public bool TryGet(int priority, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PriorityBand? band)
    {
        // Descending order: binary search over the negated comparison.
        int lo = 0;
        int hi = _priorities.Length - 1;
        while (lo <= hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            int value = _priorities[mid];
            if (value == priority)
            {
                band = Bands[mid];
                return true;
            }

            if (value > priority)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        band = null;
        return false;
    }

    public BandTable With(PriorityBand band) => new([.. Bands, band]);

    public BandTable Without(PriorityBand band) => new(Array.FindAll(Bands, b => !ReferenceEquals(b, band)));
}
