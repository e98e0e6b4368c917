using Runtime.Endpoints;
using Runtime.Scheduling.Prefix;

namespace Runtime.ReplicaState;

/// <summary>
/// Buffers the blocks the local prefix indexes record until the next batch publishes them. The
/// request path only copies hashes under a short lock; the publisher swaps the buffer out. Bounded:
/// while Redis is away the oldest batches give way (they are republished from the index itself on
/// reconnect anyway).
/// </summary>
internal sealed class PendingPrefixes
{
    /// <summary>Most blocks held between two publishes (about 8 MiB).</summary>
    internal const int MaxBlocks = 1 << 20;

    private readonly Lock _lock = new();
    private List<PrefixBlocks> _batches = [];
    private int _blocks;
    private long _dropped;

    /// <summary>Blocks dropped because the buffer was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>The observer one index reports to: it tags what it hears with the index's name.</summary>
    public IPrefixIndexObserver For(string indexName) => new Observer(this, indexName);

    public void Add(PrefixBlocks blocks)
    {
        lock (_lock)
        {
            while (_blocks + blocks.Hashes.Length > MaxBlocks && _batches.Count > 0)
            {
                _blocks -= _batches[0].Hashes.Length;
                Interlocked.Add(ref _dropped, _batches[0].Hashes.Length);
                _batches.RemoveAt(0);
            }

            _batches.Add(blocks);
            _blocks += blocks.Hashes.Length;
        }
    }

    /// <summary>Takes everything buffered so far.</summary>
    public List<PrefixBlocks> Drain()
    {
        lock (_lock)
        {
            var taken = _batches;
            _batches = [];
            _blocks = 0;
            return taken;
        }
    }

    /// <summary>Puts back what a failed publish took, ahead of anything recorded since.</summary>
    public void Requeue(List<PrefixBlocks> batches)
    {
        var since = Drain();
        foreach (var batch in batches)
        {
            Add(batch);
        }

        foreach (var batch in since)
        {
            Add(batch);
        }
    }

    private sealed class Observer(PendingPrefixes owner, string indexName) : IPrefixIndexObserver
    {
        public void Added(EndpointState endpoint, ReadOnlySpan<ulong> hashes, int capacityPerEndpoint) =>
            owner.Add(new PrefixBlocks(indexName, endpoint.Endpoint.Name, capacityPerEndpoint, hashes.ToArray()));
    }
}
