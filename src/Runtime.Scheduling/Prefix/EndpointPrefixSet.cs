using System.Numerics;
using Runtime.Endpoints;

namespace Runtime.Scheduling.Prefix;

/// <summary>
/// The block hashes one endpoint is believed to cache: a bounded LRU set. Open addressing (linear
/// probing, backward-shift delete) maps hash → node; nodes form a doubly linked recency list in
/// preallocated arrays, so an insert or refresh allocates nothing once the arrays have grown.
/// </summary>
/// <remarks>
/// Writers take the set's lock. <see cref="Contains"/> takes none: it reads 8-byte keys, which are
/// atomic on the 64-bit targets we run on, from whichever key array is published. A read racing a
/// write may miss or see a key that is being moved; for a routing heuristic that costs at worst one
/// less-than-ideal score, never an exception (probes are bounded by the array length).
/// </remarks>
internal sealed class EndpointPrefixSet
{
    private const int InitialNodes = 256;

    private readonly Lock _lock = new();
    private readonly PrefixIndex _owner;
    private ulong[] _keys = [];
    private int[] _slots = [];
    private ulong[] _nodeKeys = [];
    private int[] _prev = [];
    private int[] _next = [];
    private int _head = -1;
    private int _tail = -1;
    private int _count;
    private int _reservedNodes;
    private bool _released;

    public EndpointPrefixSet(EndpointState endpoint, PrefixIndex owner)
    {
        Endpoint = endpoint;
        _owner = owner;
    }

    public EndpointState Endpoint { get; }

    public int Count => Volatile.Read(ref _count);

    /// <summary>Node slots this set holds against the index's memory budget.</summary>
    public int ReservedNodes => Volatile.Read(ref _reservedNodes);

    public bool Contains(ulong key)
    {
        key = NonZero(key);
        var keys = Volatile.Read(ref _keys);
        if (keys.Length == 0)
        {
            return false;
        }

        var mask = keys.Length - 1;
        var index = (int)key & mask;
        for (var probes = 0; probes < keys.Length; probes++)
        {
            var found = keys[index];
            if (found == key)
            {
                return true;
            }

            if (found == 0)
            {
                return false;
            }

            index = (index + 1) & mask;
        }

        return false;
    }

    /// <summary>Records <paramref name="hashes"/> as most recently used, the first hash most recent of all.</summary>
    /// <param name="capacity">The most entries this endpoint may hold (it may change with autoTune).</param>
    public void Add(ReadOnlySpan<ulong> hashes, int capacity)
    {
        lock (_lock)
        {
            if (_released)
            {
                return;
            }

            while (_count > capacity)
            {
                RemoveNode(_tail);
            }

            ShrinkTo(capacity);

            // Last block first, so the chain's first block ends up most recent and is evicted last:
            // eviction trims a cached prompt from its end, keeping its prefix matchable.
            for (var i = hashes.Length - 1; i >= 0; i--)
            {
                Insert(NonZero(hashes[i]), capacity);
            }
        }
    }

    /// <summary>
    /// Copies up to <paramref name="destination"/>.Length keys, most recently used first (what a
    /// replica republishes to the others when its shared state resynchronises); returns how many.
    /// </summary>
    public int CopyRecent(Span<ulong> destination)
    {
        lock (_lock)
        {
            var copied = 0;
            for (var node = _head; node >= 0 && copied < destination.Length; node = _next[node])
            {
                destination[copied++] = _nodeKeys[node];
            }

            return copied;
        }
    }

    /// <summary>Gives this set's budget back to the index (the endpoint left the pool).</summary>
    public void Release()
    {
        lock (_lock)
        {
            _owner.ReleaseNodes(_reservedNodes);
            _reservedNodes = 0;
            _released = true;
            _count = 0;
            _head = _tail = -1;
            _nodeKeys = [];
            _prev = [];
            _next = [];
            _slots = [];
            Volatile.Write(ref _keys, []);
        }
    }

    private void Insert(ulong key, int capacity)
    {
        var position = Find(key);
        if (position >= 0)
        {
            MoveToHead(_slots[position]);
            return;
        }

        int node;
        if (_count < _nodeKeys.Length)
        {
            node = _count;
        }
        else if (_count < capacity && TryGrow(capacity))
        {
            node = _count;
        }
        else if (_tail >= 0)
        {
            // Full (own capacity or the index's memory budget): reuse the least recently used node.
            node = _tail;
            RemoveNode(node);
            node = _count;
        }
        else
        {
            return;
        }

        _nodeKeys[node] = key;
        _count++;
        LinkAtHead(node);
        var slot = Find(key);
        _slots[~slot] = node;
        Volatile.Write(ref _keys[~slot], key);
    }

    /// <summary>Table index of <paramref name="key"/>, or the bitwise complement of the empty slot where it would go.</summary>
    private int Find(ulong key)
    {
        var keys = _keys;
        if (keys.Length == 0)
        {
            return ~0;
        }

        var mask = keys.Length - 1;
        var index = (int)key & mask;
        while (true)
        {
            var found = keys[index];
            if (found == key)
            {
                return index;
            }

            if (found == 0)
            {
                return ~index;
            }

            index = (index + 1) & mask;
        }
    }

    /// <summary>Removes a node and compacts: the last node moves into its place, so nodes stay dense in [0, count).</summary>
    private void RemoveNode(int node)
    {
        Unlink(node);
        DeleteKey(_nodeKeys[node]);
        var last = _count - 1;
        if (node != last)
        {
            var movedKey = _nodeKeys[last];
            _nodeKeys[node] = movedKey;
            _prev[node] = _prev[last];
            _next[node] = _next[last];
            if (_prev[node] >= 0)
            {
                _next[_prev[node]] = node;
            }
            else
            {
                _head = node;
            }

            if (_next[node] >= 0)
            {
                _prev[_next[node]] = node;
            }
            else
            {
                _tail = node;
            }

            _slots[Find(movedKey)] = node;
        }

        _count--;
    }

    private void DeleteKey(ulong key)
    {
        var keys = _keys;
        var mask = keys.Length - 1;
        var hole = Find(key);
        if (hole < 0)
        {
            return;
        }

        // Backward-shift deletion keeps probe chains unbroken without tombstones.
        var j = hole;
        while (true)
        {
            j = (j + 1) & mask;
            var candidate = keys[j];
            if (candidate == 0)
            {
                break;
            }

            var home = (int)candidate & mask;
            var stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
            if (stays)
            {
                continue;
            }

            _slots[hole] = _slots[j];
            Volatile.Write(ref keys[hole], candidate);
            hole = j;
        }

        Volatile.Write(ref keys[hole], 0UL);
    }

    private bool TryGrow(int capacity)
    {
        var current = _nodeKeys.Length;
        var wanted = Math.Min(capacity, Math.Max(InitialNodes, current * 2));
        var granted = _owner.ReserveNodes(wanted - current);
        if (granted <= 0)
        {
            return false;
        }

        _reservedNodes += granted;
        Resize(current + granted);
        return true;
    }

    /// <summary>Gives memory back when the capacity fell well below the arrays (the pool grew under the budget).</summary>
    private void ShrinkTo(int capacity)
    {
        var length = Math.Max(capacity, 0);
        if (length >= _nodeKeys.Length / 2)
        {
            return;
        }

        var released = _nodeKeys.Length - length;
        Resize(length);
        _reservedNodes -= released;
        _owner.ReleaseNodes(released);
    }

    /// <summary>Reallocates the node arrays (nodes are dense in [0, count), so a copy keeps them) and the table.</summary>
    private void Resize(int length)
    {
        Array.Resize(ref _nodeKeys, length);
        Array.Resize(ref _prev, length);
        Array.Resize(ref _next, length);

        // Load factor ≤ 0.5 keeps linear probes short.
        var tableLength = length == 0 ? 0 : (int)BitOperations.RoundUpToPowerOf2((uint)length * 2);
        if (tableLength != _keys.Length)
        {
            var keys = new ulong[tableLength];
            var slots = new int[tableLength];
            var mask = tableLength - 1;
            for (var node = 0; node < _count; node++)
            {
                var index = (int)_nodeKeys[node] & mask;
                while (keys[index] != 0)
                {
                    index = (index + 1) & mask;
                }

                keys[index] = _nodeKeys[node];
                slots[index] = node;
            }

            _slots = slots;
            Volatile.Write(ref _keys, keys);
        }
    }

    private void MoveToHead(int node)
    {
        if (node == _head)
        {
            return;
        }

        Unlink(node);
        LinkAtHead(node);
    }

    private void LinkAtHead(int node)
    {
        _prev[node] = -1;
        _next[node] = _head;
        if (_head >= 0)
        {
            _prev[_head] = node;
        }

        _head = node;
        if (_tail < 0)
        {
            _tail = node;
        }
    }

    private void Unlink(int node)
    {
        var prev = _prev[node];
        var next = _next[node];
        if (prev >= 0)
        {
            _next[prev] = next;
        }
        else
        {
            _head = next;
        }

        if (next >= 0)
        {
            _prev[next] = prev;
        }
        else
        {
            _tail = prev;
        }
    }

    /// <summary>0 marks an empty table slot, so the (one in 2^64) zero hash is folded onto 1.</summary>
    private static ulong NonZero(ulong key) => key == 0 ? 1 : key;
}
