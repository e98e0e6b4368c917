namespace Runtime.Endpoints;

/// <summary>
/// The live state of one endpoint: its identity, the latest metrics and what this process has in
/// flight on it. The same instance survives snapshot republishes while the endpoint stays, so
/// metrics and in-flight counts carry over; a removed endpoint's instance is retired.
/// </summary>
public sealed class EndpointState
{
    private static int s_nextId;

    private EndpointMetrics _metrics = EndpointMetrics.None;
    private long _inFlightRequests;
    private long _inFlightTokens;
    private long _remoteInFlightRequests;
    private long _remoteInFlightTokens;
    private int _retired;

    public EndpointState(Endpoint endpoint)
    {
        Endpoint = endpoint;
        Id = Interlocked.Increment(ref s_nextId);
    }

    public Endpoint Endpoint { get; }

    /// <summary>Unique for the process lifetime (never reused), so per-endpoint indexes can key on it.</summary>
    public int Id { get; }

    /// <summary>The latest scrape; <see cref="EndpointMetrics.None"/> until the first one.</summary>
    public EndpointMetrics Metrics => Volatile.Read(ref _metrics);

    /// <summary>
    /// Requests routed here that have not finished: this process's, plus (with <c>--replica-state</c>)
    /// those the pool's other replicas last reported.
    /// </summary>
    public long InFlightRequests => Volatile.Read(ref _inFlightRequests) + Volatile.Read(ref _remoteInFlightRequests);

    /// <summary>Estimated tokens of the requests in flight here (this process's plus the other replicas').</summary>
    public long InFlightTokens => Volatile.Read(ref _inFlightTokens) + Volatile.Read(ref _remoteInFlightTokens);

    /// <summary>Requests this process alone routed here that have not finished (what it reports to other replicas).</summary>
    internal long LocalInFlightRequests => Volatile.Read(ref _inFlightRequests);

    /// <summary>Estimated tokens of this process's own requests in flight here.</summary>
    internal long LocalInFlightTokens => Volatile.Read(ref _inFlightTokens);

    /// <summary>The other replicas' in-flight load, as last applied from the shared replica state.</summary>
    internal long RemoteInFlightRequests => Volatile.Read(ref _remoteInFlightRequests);

    /// <summary>Replaces the other replicas' in-flight load (written by the replica-state applier only).</summary>
    internal void SetRemoteInFlight(long requests, long tokens)
    {
        Volatile.Write(ref _remoteInFlightRequests, requests);
        Volatile.Write(ref _remoteInFlightTokens, tokens);
    }

    /// <summary>True once the endpoint left the pool; scrapers stop and indexes drop it.</summary>
    public bool IsRetired => Volatile.Read(ref _retired) != 0;

    /// <summary>Named numeric attributes published by data-layer extractors (e.g. GPU utilisation from DCGM).</summary>
    internal EndpointAttributes Attributes { get; } = new();

    public void PublishMetrics(EndpointMetrics metrics) => Volatile.Write(ref _metrics, metrics);

    public void AddInFlight(long tokens)
    {
        Interlocked.Increment(ref _inFlightRequests);
        Interlocked.Add(ref _inFlightTokens, tokens);
    }

    public void RemoveInFlight(long tokens)
    {
        Interlocked.Decrement(ref _inFlightRequests);
        Interlocked.Add(ref _inFlightTokens, -tokens);
    }

    internal void Retire() => Volatile.Write(ref _retired, 1);

    public override string ToString() => Endpoint.ToString();
}
