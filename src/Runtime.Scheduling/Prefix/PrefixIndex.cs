using Runtime.Endpoints;

namespace Runtime.Scheduling.Prefix;

/// <summary>
/// Which prompt-prefix blocks each endpoint probably holds in its KV cache: one bounded LRU set per
/// endpoint, updated after each pick with the picked endpoint. Bounded twice: per endpoint
/// (<c>lruCapacityPerServer</c>, or the server's reported GPU blocks with autoTune) and in total by
/// <see cref="MaxBytes"/>, so a huge pool cannot grow it until the process runs out of memory (GIE's
/// index has no global bound).
/// </summary>
/// <remarks>
/// Lookups are lock-free: the endpoint table is an immutable open-addressing array replaced under a
/// lock when an endpoint is first picked or purged (rare), and each set's reads are lock-free (see
/// <see cref="EndpointPrefixSet"/>). Inserts lock only the picked endpoint's set. Retired endpoints
/// (<see cref="EndpointState.IsRetired"/>) are purged lazily, every <see cref="PurgeInterval"/> updates.
/// </remarks>
internal sealed class PrefixIndex
{
    /// <summary>Accounted bytes per node slot: key, two links, and a hash table kept at most half full (rounded up to a power of two).</summary>
    public const int BytesPerEntry = 64;

    /// <summary>256 MiB: about 4.2 million blocks, e.g. 134 endpoints at GIE's default 31,250 each.</summary>
    public const long DefaultMaxBytes = 256L << 20;

    internal const int PurgeInterval = 1024;

    private readonly Lock _tableLock = new();
    private readonly long _maxNodes;
    private EndpointTable _table = EndpointTable.Empty;
    private long _reservedNodes;
    private int _updatesSincePurge;

    public PrefixIndex(long maxBytes = DefaultMaxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, BytesPerEntry);
        MaxBytes = maxBytes;
        _maxNodes = maxBytes / BytesPerEntry;
    }

    public long MaxBytes { get; }

    /// <summary>Bytes held by all endpoint sets (as accounted against <see cref="MaxBytes"/>).</summary>
    public long ReservedBytes => Interlocked.Read(ref _reservedNodes) * BytesPerEntry;

    public int EndpointCount => Volatile.Read(ref _table).Count;

    /// <summary>
    /// What other replicas of the pool learned (<c>--replica-state</c>): a separate index that
    /// <see cref="Match"/> also reads, each candidate scoring its longer match of the two. Kept apart so
    /// remote blocks are never republished and local bookkeeping stays this replica's own.
    /// </summary>
    internal PrefixIndex? Remote { get; set; }

    /// <summary>Told of every local <see cref="Add"/> (it must only buffer: it runs on the request path).</summary>
    internal IPrefixIndexObserver? Observer { get; set; }

    /// <summary>The endpoint sets in this index (a snapshot; for resynchronising replicas).</summary>
    internal IReadOnlyList<EndpointPrefixSet> Sets => Volatile.Read(ref _table).Sets;

    /// <summary>
    /// Block entries held over all endpoints (GIE's prefix indexer size: the sum of its per-server
    /// LRU lengths). One read per endpoint, no allocation.
    /// </summary>
    public long Entries
    {
        get
        {
            long total = 0;
            foreach (var set in Volatile.Read(ref _table).Sets)
            {
                total += set.Count;
            }

            return total;
        }
    }

    /// <summary>Block hashes held for <paramref name="endpoint"/> (0 when it has none).</summary>
    public int CountFor(EndpointState endpoint) => Volatile.Read(ref _table).Get(endpoint.Id)?.Count ?? 0;

    /// <summary>
    /// For each candidate, counts how many leading blocks of <paramref name="hashes"/> it holds into
    /// <paramref name="matched"/>. Walks the blocks once for all candidates together and stops as soon
    /// as none still matches.
    /// </summary>
    internal void Match(ReadOnlySpan<ulong> hashes, ReadOnlySpan<EndpointState> candidates, Span<double> matched, Span<int> alive, Span<EndpointPrefixSet?> sets)
    {
        var table = Volatile.Read(ref _table);
        var aliveCount = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            matched[i] = 0;
            var set = table.Get(candidates[i].Id);
            if (set is { Count: > 0 })
            {
                sets[aliveCount] = set;
                alive[aliveCount++] = i;
            }
        }

        for (var block = 0; block < hashes.Length && aliveCount > 0; block++)
        {
            var hash = hashes[block];
            var kept = 0;
            for (var a = 0; a < aliveCount; a++)
            {
                var set = sets[a]!;
                if (set.Contains(hash))
                {
                    matched[alive[a]]++;
                    sets[kept] = set;
                    alive[kept++] = alive[a];
                }
            }

            aliveCount = kept;
        }

        sets.Clear();
        Remote?.MatchMax(hashes, candidates, matched);
    }

    /// <summary>Raises each candidate's <paramref name="matched"/> to its leading-block match in this index when longer.</summary>
    internal void MatchMax(ReadOnlySpan<ulong> hashes, ReadOnlySpan<EndpointState> candidates, Span<double> matched)
    {
        var table = Volatile.Read(ref _table);
        if (table.Count == 0)
        {
            return;
        }

        for (var i = 0; i < candidates.Length; i++)
        {
            var set = table.Get(candidates[i].Id);
            if (set is not { Count: > 0 })
            {
                continue;
            }

            var count = 0;
            while (count < hashes.Length && set.Contains(hashes[count]))
            {
                count++;
            }

            if (count > matched[i])
            {
                matched[i] = count;
            }
        }
    }

    /// <summary>Records that <paramref name="endpoint"/> now holds the blocks of <paramref name="hashes"/>.</summary>
    public void Add(EndpointState endpoint, ReadOnlySpan<ulong> hashes, int capacityPerEndpoint)
    {
        if (hashes.IsEmpty || endpoint.IsRetired)
        {
            return;
        }

        var set = Volatile.Read(ref _table).Get(endpoint.Id) ?? GetOrCreate(endpoint);

        // An equal share of the budget per endpoint, so endpoints that joined later can still learn
        // when the budget is spent (the others shrink to their share on their next update).
        var share = (int)Math.Min(int.MaxValue, _maxNodes / Math.Max(1, Volatile.Read(ref _table).Count));
        set.Add(hashes, Math.Max(1, Math.Min(capacityPerEndpoint, share)));
        Observer?.Added(endpoint, hashes, capacityPerEndpoint);
        if (Interlocked.Increment(ref _updatesSincePurge) >= PurgeInterval)
        {
            PurgeRetired();
        }
    }

    /// <summary>Drops the sets of endpoints that left the pool and returns their budget.</summary>
    public void PurgeRetired()
    {
        Volatile.Write(ref _updatesSincePurge, 0);
        lock (_tableLock)
        {
            var table = _table;
            List<EndpointPrefixSet>? retired = null;
            foreach (var set in table.Sets)
            {
                if (set.Endpoint.IsRetired)
                {
                    (retired ??= []).Add(set);
                }
            }

            if (retired is null)
            {
                return;
            }

            Volatile.Write(ref _table, table.Without(retired));
            foreach (var set in retired)
            {
                set.Release();
            }
        }
    }

    /// <summary>Grants up to <paramref name="wanted"/> node slots from the budget; returns how many.</summary>
    internal int ReserveNodes(int wanted)
    {
        while (true)
        {
            var reserved = Interlocked.Read(ref _reservedNodes);
            var granted = (int)Math.Min(wanted, _maxNodes - reserved);
            if (granted <= 0)
            {
                return 0;
            }

            if (Interlocked.CompareExchange(ref _reservedNodes, reserved + granted, reserved) == reserved)
            {
                return granted;
            }
        }
    }

    internal void ReleaseNodes(int count) => Interlocked.Add(ref _reservedNodes, -count);

    private EndpointPrefixSet GetOrCreate(EndpointState endpoint)
    {
        lock (_tableLock)
        {
            var table = _table;
            var set = table.Get(endpoint.Id);
            if (set is null)
            {
                set = new EndpointPrefixSet(endpoint, this);
                Volatile.Write(ref _table, table.With(set));
            }

            return set;
        }
    }

    /// <summary>Immutable map from <see cref="EndpointState.Id"/> to its set: open addressing, ids as keys (never 0).</summary>
    private sealed class EndpointTable
    {
        public static readonly EndpointTable Empty = new([]);

        private readonly int[] _ids;
        private readonly EndpointPrefixSet?[] _sets;

        private EndpointTable(EndpointPrefixSet[] sets)
        {
            Sets = sets;
            var length = 8;
            while (length < sets.Length * 2)
            {
                length *= 2;
            }

            _ids = new int[length];
            _sets = new EndpointPrefixSet?[length];
            var mask = length - 1;
            foreach (var set in sets)
            {
                var index = set.Endpoint.Id & mask;
                while (_ids[index] != 0)
                {
                    index = (index + 1) & mask;
                }

                _ids[index] = set.Endpoint.Id;
                _sets[index] = set;
            }
        }

        public EndpointPrefixSet[] Sets { get; }

        public int Count => Sets.Length;

        public EndpointPrefixSet? Get(int id)
        {
            var ids = _ids;
            var mask = ids.Length - 1;
            var index = id & mask;
            while (true)
            {
                var found = ids[index];
                if (found == id)
                {
                    return _sets[index];
                }

                if (found == 0)
                {
                    return null;
                }

                index = (index + 1) & mask;
            }
        }

        public EndpointTable With(EndpointPrefixSet set) => new([.. Sets, set]);

        public EndpointTable Without(List<EndpointPrefixSet> removed) => new(Sets.Where(s => !removed.Contains(s)).ToArray());
    }
}
