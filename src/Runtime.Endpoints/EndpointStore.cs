namespace Runtime.Endpoints;

/// <summary>
/// Owns the current <see cref="EndpointSnapshot"/>. Sources (static lists, the control plane) call
/// <see cref="Publish"/> with the whole desired set; the store keeps the live state of endpoints that
/// stay, retires the ones that left, and swaps the snapshot atomically.
/// </summary>
internal sealed class EndpointStore
{
    private readonly Lock _writeLock = new();
    private EndpointSnapshot _current = EndpointSnapshot.Empty;

    /// <summary>Raised after each publish that changed the set (on the publishing thread).</summary>
    public event Action<EndpointSnapshot>? Changed;

    public EndpointSnapshot Current => Volatile.Read(ref _current);

    /// <summary>Replaces the endpoint set; returns false (and publishes nothing) when it is unchanged.</summary>
    public bool Publish(IEnumerable<Endpoint> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        EndpointSnapshot next;
        lock (_writeLock)
        {
            var previous = _current;
            var byName = new Dictionary<string, Endpoint>(StringComparer.Ordinal);
            foreach (var endpoint in endpoints)
            {
                if (!byName.TryAdd(endpoint.Name, endpoint))
                {
                    throw new ArgumentException($"duplicate endpoint name \"{endpoint.Name}\"", nameof(endpoints));
                }
            }

            var kept = new Dictionary<string, EndpointState>(StringComparer.Ordinal);
            foreach (var state in previous.Endpoints)
            {
                if (byName.TryGetValue(state.Endpoint.Name, out var wanted) && wanted.Equals(state.Endpoint))
                {
                    kept[state.Endpoint.Name] = state;
                }
            }

            if (kept.Count == previous.Count && byName.Count == previous.Count)
            {
                return false;
            }

            var states = new EndpointState[byName.Count];
            var i = 0;
            foreach (var name in byName.Keys.Order(StringComparer.Ordinal))
            {
                states[i++] = kept.TryGetValue(name, out var state) ? state : new EndpointState(byName[name]);
            }

            foreach (var state in previous.Endpoints)
            {
                if (!kept.ContainsKey(state.Endpoint.Name))
                {
                    state.Retire();
                }
            }

            next = new EndpointSnapshot(states, previous.Version + 1);
            Volatile.Write(ref _current, next);
        }

        Changed?.Invoke(next);
        return true;
    }
}
