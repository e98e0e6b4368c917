using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Runtime.Telemetry.Prometheus;

/// <summary>
/// The series of one instrument keyed by tag set: a lock-free lookup for tag sets already seen (no
/// allocation), a lock only to add a new one.
/// </summary>
/// <remarks>
/// The bucket array and each chain are immutable once published: an insert prepends a new node and
/// publishes it with <see cref="Volatile.Write{T}(ref T, T)"/>, a resize builds a new array and
/// publishes it the same way, so a reader sees either the old or the new chain, both complete.
/// Series are never removed (an instrument's whole table goes when its meter is disposed). The
/// tag hash is order-independent, so the same set recorded in another order finds the same series.
/// See <c>PrometheusRecordingBenchmark</c> for the steady-state cost.
/// </remarks>
internal sealed class SeriesTable
{
    private static readonly long s_seed = Random.Shared.NextInt64();
    private readonly Lock _writeLock = new();
    private readonly int _bucketCount;
    private Node?[] _nodes = new Node?[16];
    private Series? _untagged;
    private int _count;

    public SeriesTable(int bucketCount)
    {
        _bucketCount = bucketCount;
    }

    public Series GetOrAdd(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.IsEmpty)
        {
            return Volatile.Read(ref _untagged) ?? AddUntagged();
        }

        var hash = Hash(tags);
        var nodes = Volatile.Read(ref _nodes);
        for (var node = Volatile.Read(ref nodes[hash & (nodes.Length - 1)]); node is not null; node = node.Next)
        {
            if (node.Series.Hash == hash && node.Series.Matches(tags))
            {
                return node.Series;
            }
        }

        return Add(tags, hash);
    }

    /// <summary>Every series so far (a copy).</summary>
    public List<Series> Snapshot()
    {
        var all = new List<Series>();
        if (Volatile.Read(ref _untagged) is { } untagged)
        {
            all.Add(untagged);
        }

        foreach (var head in Volatile.Read(ref _nodes))
        {
            for (var node = head; node is not null; node = node.Next)
            {
                all.Add(node.Series);
            }
        }

        return all;
    }

    private Series AddUntagged()
    {
        lock (_writeLock)
        {
            if (_untagged is null)
            {
                Volatile.Write(ref _untagged, new Series([], 0, _bucketCount));
            }

            return _untagged!;
        }
    }

    private Series Add(ReadOnlySpan<KeyValuePair<string, object?>> tags, int hash)
    {
        lock (_writeLock)
        {
            var nodes = _nodes;
            for (var node = nodes[hash & (nodes.Length - 1)]; node is not null; node = node.Next)
            {
                if (node.Series.Hash == hash && node.Series.Matches(tags))
                {
                    return node.Series;
                }
            }

            var series = new Series(tags.ToArray(), hash, _bucketCount);
            if (_count + 1 > nodes.Length * 3 / 4)
            {
                nodes = Grow(nodes);
            }

            var slot = hash & (nodes.Length - 1);
            Volatile.Write(ref nodes[slot], new Node(series, nodes[slot]));
            _count++;
            Volatile.Write(ref _nodes, nodes);
            return series;
        }
    }

    private static Node?[] Grow(Node?[] nodes)
    {
        var grown = new Node?[nodes.Length * 2];
        foreach (var head in nodes)
        {
            for (var node = head; node is not null; node = node.Next)
            {
                var slot = node.Series.Hash & (grown.Length - 1);
                grown[slot] = new Node(node.Series, grown[slot]);
            }
        }

        return grown;
    }

    private static int Hash(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        // A sum over the values, so independent of order. Keys are left out: an instrument's call
        // sites pass the same few, and Matches compares them anyway. Strings are hashed with XXH3,
        // seeded per process: several times cheaper than string.GetHashCode (Marvin) on label-sized
        // strings, and the picker records a dozen tag sets per request.
        var hash = 0;
        foreach (var tag in tags)
        {
            hash += tag.Value switch
            {
                string text => (int)XxHash3.HashToUInt64(MemoryMarshal.AsBytes(text.AsSpan()), s_seed),
                null => 0,
                var other => other.GetHashCode(),
            };
        }

        return hash;
    }

    private sealed class Node(Series series, Node? next)
    {
        public Series Series { get; } = series;

        public Node? Next { get; } = next;
    }
}
