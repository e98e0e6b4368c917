namespace Runtime.Endpoints;

/// <summary>An immutable set of endpoints, published whole; the request path reads it without a lock.</summary>
public sealed class EndpointSnapshot
{
    public static readonly EndpointSnapshot Empty = new([], 0);

    private readonly Dictionary<string, EndpointState> _byHostPort;

    internal EndpointSnapshot(EndpointState[] endpoints, long version)
    {
        Endpoints = endpoints;
        Version = version;
        _byHostPort = new Dictionary<string, EndpointState>(endpoints.Length, StringComparer.Ordinal);
        foreach (var state in endpoints)
        {
            _byHostPort.TryAdd(state.Endpoint.HostPort, state);
        }

        HostPortLookup = _byHostPort.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Ordered by name, so iteration order is stable between snapshots.</summary>
    public EndpointState[] Endpoints { get; }

    /// <summary>Increases with every publish.</summary>
    public long Version { get; }

    public int Count => Endpoints.Length;

    /// <summary>Finds an endpoint by <c>ip:port</c> without allocating (subset hints, served-endpoint metadata).</summary>
    public Dictionary<string, EndpointState>.AlternateLookup<ReadOnlySpan<char>> HostPortLookup { get; }

    public bool TryGetByHostPort(ReadOnlySpan<char> hostPort, out EndpointState? state) =>
        HostPortLookup.TryGetValue(hostPort, out state);
}
