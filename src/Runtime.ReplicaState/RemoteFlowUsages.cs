using Runtime.FlowControl.Policies;

namespace Runtime.ReplicaState;

/// <summary>
/// The other replicas' per-fairness-flow usage: each one's latest snapshot, summed per policy and
/// flow into the remote layer a usage-keyed fairness policy adds to its own
/// (<see cref="ProgramAwareFairnessPolicy.Remote"/>). As with <see cref="RemoteLoads"/>, a replica
/// whose snapshot is older than the load TTL no longer counts.
/// </summary>
/// <remarks>
/// Written only by the sync loop; the dispatcher reads <see cref="Layer.ServiceOf"/>, which swaps in
/// a new immutable dictionary (no lock, no waiting) when a snapshot arrives or expires.
/// </remarks>
internal sealed class RemoteFlowUsages
{
    private readonly Dictionary<string, (long ReportedAt, List<FlowUsageEntry> Usage)> _replicas = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Layer> _layers = new(StringComparer.Ordinal);
    private readonly long _ttlMs;
    private bool _dirty;

    public RemoteFlowUsages(TimeSpan ttl) => _ttlMs = (long)ttl.TotalMilliseconds;

    /// <summary>Flows with usage from other replicas, over all layers.</summary>
    public int Flows => _layers.Values.Sum(layer => layer.Flows);

    /// <summary>The remote layer of the policy shared under <paramref name="policy"/> (created on first use).</summary>
    public IRemoteFlowUsage LayerFor(string policy)
    {
        if (!_layers.TryGetValue(policy, out var layer))
        {
            layer = new Layer();
            _layers.Add(policy, layer);
        }

        return layer;
    }

    /// <summary>Records <paramref name="replica"/>'s usage snapshot taken at <paramref name="reportedAtMs"/> (Redis server time).</summary>
    public void Report(string replica, long reportedAtMs, List<FlowUsageEntry> usage)
    {
        if (!_replicas.TryGetValue(replica, out var previous) || previous.ReportedAt <= reportedAtMs)
        {
            _replicas[replica] = (reportedAtMs, usage);
            _dirty = true;
        }
    }

    /// <summary>Drops expired replicas and, when anything changed, publishes the others' sums to each layer.</summary>
    public void Apply(long nowMs)
    {
        List<string>? expired = null;
        foreach (var (replica, (reportedAt, _)) in _replicas)
        {
            if (nowMs - reportedAt > _ttlMs)
            {
                (expired ??= []).Add(replica);
            }
        }

        foreach (var replica in expired ?? [])
        {
            _replicas.Remove(replica);
            _dirty = true;
        }

        if (!_dirty)
        {
            return;
        }

        _dirty = false;
        var sums = new Dictionary<string, Dictionary<string, double>>(StringComparer.Ordinal);
        foreach (var (_, (_, usage)) in _replicas)
        {
            foreach (var entry in usage)
            {
                if (!_layers.ContainsKey(entry.Policy))
                {
                    continue;
                }

                if (!sums.TryGetValue(entry.Policy, out var flows))
                {
                    flows = new Dictionary<string, double>(StringComparer.Ordinal);
                    sums.Add(entry.Policy, flows);
                }

                flows[entry.FairnessId] = flows.GetValueOrDefault(entry.FairnessId) + entry.Service;
            }
        }

        foreach (var (policy, layer) in _layers)
        {
            layer.Publish(sums.GetValueOrDefault(policy));
        }
    }

    /// <summary>Forgets every replica and empties the layers (on shutdown).</summary>
    public void Clear()
    {
        _replicas.Clear();
        foreach (var layer in _layers.Values)
        {
            layer.Publish(null);
        }
    }

    /// <summary>One policy's remote layer: the others' summed service per flow.</summary>
    internal sealed class Layer : IRemoteFlowUsage
    {
        private static readonly Dictionary<string, double> s_empty = new(StringComparer.Ordinal);
        private Dictionary<string, double> _service = s_empty;

        /// <summary>Flows with usage from other replicas.</summary>
        public int Flows => Volatile.Read(ref _service).Count;

        public double ServiceOf(string fairnessId) => Volatile.Read(ref _service).GetValueOrDefault(fairnessId);

        public void Publish(Dictionary<string, double>? service) => Volatile.Write(ref _service, service ?? s_empty);
    }
}
