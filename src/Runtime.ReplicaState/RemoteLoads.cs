using Runtime.Endpoints;

namespace Runtime.ReplicaState;

/// <summary>
/// The latest in-flight snapshot of every other replica, and their sum per endpoint written into the
/// endpoints' remote layer (<see cref="EndpointState.SetRemoteInFlight"/>). A replica whose snapshot
/// is older than the load TTL no longer counts: a dead replica's load does not linger.
/// </summary>
internal sealed class RemoteLoads
{
    private readonly Dictionary<string, (long ReportedAt, List<EndpointLoad> Load)> _replicas = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long Requests, long Tokens)> _totals = new(StringComparer.Ordinal);
    private readonly long _ttlMs;

    public RemoteLoads(TimeSpan ttl) => _ttlMs = (long)ttl.TotalMilliseconds;

    /// <summary>Other replicas whose load currently counts.</summary>
    public int LiveReplicas { get; private set; }

    /// <summary>Records <paramref name="replica"/>'s snapshot taken at <paramref name="reportedAtMs"/> (Redis server time).</summary>
    public void Report(string replica, long reportedAtMs, List<EndpointLoad> load)
    {
        if (!_replicas.TryGetValue(replica, out var previous) || previous.ReportedAt <= reportedAtMs)
        {
            _replicas[replica] = (reportedAtMs, load);
        }
    }

    /// <summary>Drops expired replicas and writes the others' sums into <paramref name="endpoints"/> (zero where none).</summary>
    public void Apply(long nowMs, EndpointSnapshot endpoints)
    {
        _totals.Clear();
        List<string>? expired = null;
        foreach (var (replica, (reportedAt, load)) in _replicas)
        {
            if (nowMs - reportedAt > _ttlMs)
            {
                (expired ??= []).Add(replica);
                continue;
            }

            foreach (var entry in load)
            {
                _totals.TryGetValue(entry.Endpoint, out var total);
                _totals[entry.Endpoint] = (total.Requests + entry.Requests, total.Tokens + entry.Tokens);
            }
        }

        foreach (var replica in expired ?? [])
        {
            _replicas.Remove(replica);
        }

        LiveReplicas = _replicas.Count;
        foreach (var state in endpoints.Endpoints)
        {
            _totals.TryGetValue(state.Endpoint.Name, out var total);
            state.SetRemoteInFlight(total.Requests, total.Tokens);
        }
    }

    /// <summary>Forgets every replica and clears the remote layer (on shutdown).</summary>
    public void Clear(EndpointSnapshot endpoints)
    {
        _replicas.Clear();
        LiveReplicas = 0;
        foreach (var state in endpoints.Endpoints)
        {
            state.SetRemoteInFlight(0, 0);
        }
    }
}
