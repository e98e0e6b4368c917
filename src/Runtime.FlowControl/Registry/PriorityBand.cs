namespace Runtime.FlowControl.Registry;

/// <summary>Who created a band, which decides whether the control plane may remove it.</summary>
internal enum PriorityBandKind
{
    /// <summary>Listed in <c>priorityBands</c>: never removed while the config lists it (a reload that drops it makes it dynamic).</summary>
    Static,

    /// <summary>Band 0, the demotion target: never removed.</summary>
    Zero,

    /// <summary>Created just in time or by the control plane's desired set: drained and removed when it leaves that set.</summary>
    Dynamic,
}

/// <summary>
/// One priority band across all shards: its options, its capacity counters, its drain state,
/// and its per-shard queues (indexed by <see cref="Shard.Index"/>, the shard's slot).
/// </summary>
/// <remarks>
/// Admission and removal meet without a lock (a Dekker handshake): admission increments
/// <see cref="_requests"/> with <see cref="Interlocked"/> (a full fence) and then reads
/// <see cref="_draining"/>; <see cref="MarkDraining"/> sets the flag with
/// <see cref="Interlocked.Exchange(ref int, int)"/> (a full fence) before the registry reads the
/// count under its writer lock. So either admission sees the band draining and backs out, or the
/// registry sees a non-zero count and waits for the last request to leave.
/// <para>A config reload (<see cref="FlowController.Reconfigure"/>) replaces <see cref="Options"/>
/// and <see cref="Kind"/> in place, so queued requests keep their band: the new limits bind the
/// next admission, and each shard's part takes up new policies at its next dispatcher step
/// (<see cref="ShardBand"/>). The priority never changes.</para>
/// </remarks>
internal sealed class PriorityBand
{
    private long _requests;
    private long _bytes;
    private int _draining;
    private ShardBand[] _perShard;
    private PriorityBandOptions _options;
    private volatile PriorityBandKind _kind;

    public PriorityBand(PriorityBandOptions options, PriorityBandKind kind, int slots)
    {
        _options = options;
        Priority = options.Priority;
        _kind = kind;
        _perShard = new ShardBand[slots];
        for (int i = 0; i < slots; i++)
        {
            _perShard[i] = new ShardBand(this);
        }
    }

    /// <summary>The band's limits and policies now (replaced by a reload; read once per decision).</summary>
    public PriorityBandOptions Options => Volatile.Read(ref _options);

    public int Priority { get; }

    public PriorityBandKind Kind => _kind;

    /// <summary>
    /// A part for every shard slot in use (live or draining). Replaced, never mutated, by
    /// <see cref="AddShardSlot"/>: a dispatcher holding the old array still finds its own part in it.
    /// </summary>
    public ShardBand[] PerShard => Volatile.Read(ref _perShard);

    public bool IsDraining => Volatile.Read(ref _draining) != 0;

    public long Requests => Volatile.Read(ref _requests);

    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>
    /// Gives a new shard in <paramref name="slot"/> an empty part of this band. Called under the
    /// registry's writer lock before the table naming the shard is published, so the shard never
    /// sees a band without its part. A reused slot's old part belonged to a dropped shard (empty).
    /// </summary>
    public void AddShardSlot(int slot)
    {
        ShardBand[] old = _perShard;
        var next = new ShardBand[Math.Max(old.Length, slot + 1)];
        Array.Copy(old, next, old.Length);
        for (int i = old.Length; i < next.Length; i++)
        {
            next[i] = new ShardBand(this);
        }

        next[slot] = new ShardBand(this);
        Volatile.Write(ref _perShard, next);
    }

    public void MarkDraining() => Interlocked.Exchange(ref _draining, 1);

    /// <summary>A reload: new limits and policies (same priority), and who owns the band now. Under the registry's writer lock.</summary>
    public void Reconfigure(PriorityBandOptions options, PriorityBandKind kind)
    {
        Volatile.Write(ref _options, options with { Priority = Priority });
        _kind = kind;
    }

    public void Reactivate() => Interlocked.Exchange(ref _draining, 0);

    /// <summary>Counts a request in; false (and nothing counted) when over this band's limits.</summary>
    public bool TryReserve(long bytes)
    {
        long requests = Interlocked.Increment(ref _requests);
        long total = Interlocked.Add(ref _bytes, bytes);

        // A limit shrunk below what is queued refuses new requests only; queued ones stay.
        PriorityBandOptions options = Options;
        if ((options.MaxRequests > 0 && requests > options.MaxRequests) || (options.MaxBytes > 0 && total > options.MaxBytes))
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
/// The immutable registry snapshot: bands by descending priority and the shards. Published by the
/// registry with <see cref="Volatile.Write{T}(ref T, T)"/> and read with
/// <see cref="Volatile.Read{T}(ref readonly T)"/>: release/acquire ordering makes a reader see fully
/// constructed bands and shards, and every band's part for every shard listed; readers never lock.
/// </summary>
internal sealed class BandTable
{
    private readonly int[] _priorities;

    // Takes bands already in descending order: a published table's array is never sorted again in place.
    private BandTable(PriorityBand[] bands, Shard[] shards, Shard[] attached)
    {
        Bands = bands;
        Shards = shards;
        Attached = attached;
        _priorities = Array.ConvertAll(bands, static band => band.Priority);
        foreach (Shard shard in attached)
        {
            Slots = Math.Max(Slots, shard.Index + 1);
        }
    }

    /// <summary>Highest priority first.</summary>
    public PriorityBand[] Bands { get; }

    /// <summary>Live shards, which take new requests, in routing order (see <see cref="ShardFor"/>).</summary>
    public Shard[] Shards { get; }

    /// <summary>Live shards and removed ones still draining their queues.</summary>
    public Shard[] Attached { get; }

    /// <summary>Shard slots a new band needs a part for (highest attached index + 1).</summary>
    public int Slots { get; }

    /// <summary>
    /// The live shard of a flow: jump consistent hash (Lamping and Veach) of its fairness id over
    /// <see cref="Shards"/>, so changing the shard count from n to m moves only the flows of the
    /// shards added or removed (|n - m| / max(n, m) of them), and removes the last shards first.
    /// </summary>
    public Shard ShardFor(string fairnessId)
    {
        Shard[] shards = Shards;
        if (shards.Length == 1)
        {
            return shards[0];
        }

        ulong key = (uint)StringComparer.Ordinal.GetHashCode(fairnessId);
        long bucket = -1;
        long next = 0;
        while (next < shards.Length)
        {
            bucket = next;
            key = (key * 2862933555777941757UL) + 1;
            next = (long)((bucket + 1) * ((double)(1L << 31) / ((key >> 33) + 1)));
        }

        return shards[bucket];
    }

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

    /// <summary>A table of <paramref name="bands"/> (any order; the array is sorted in place) and all shards live.</summary>
    public static BandTable Create(PriorityBand[] bands, Shard[] shards)
    {
        Array.Sort(bands, static (a, b) => b.Priority.CompareTo(a.Priority));
        return new BandTable(bands, shards, shards);
    }

    public BandTable With(PriorityBand band)
    {
        int at = Array.FindIndex(Bands, b => b.Priority < band.Priority);
        return new([.. Bands.AsSpan(0, at < 0 ? Bands.Length : at), band, .. Bands.AsSpan(at < 0 ? Bands.Length : at)], Shards, Attached);
    }

    public BandTable Without(PriorityBand band) => new(Array.FindAll(Bands, b => !ReferenceEquals(b, band)), Shards, Attached);

    /// <summary>The same bands (the caller has given every band a part for any new shard) with new shard lists.</summary>
    public BandTable WithShards(Shard[] shards, Shard[] attached) => new(Bands, shards, attached);
}
