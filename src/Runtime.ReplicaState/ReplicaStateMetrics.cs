using System.Diagnostics.Metrics;

namespace Runtime.ReplicaState;

/// <summary>
/// <c>runtime_replica_state_*</c>: whether Redis is reachable, what this replica published and
/// applied, and the errors. Counts are readable here for tests.
/// </summary>
internal sealed class ReplicaStateMetrics : IDisposable
{
    private readonly Meter _meter = new("Runtime.ReplicaState");
    private readonly Counter<long> _published;
    private readonly Counter<long> _publishedBytes;
    private readonly Counter<long> _applied;
    private readonly Counter<long> _errors;
    private readonly Counter<long> _notifications;
    private readonly Counter<long> _reads;
    private long _notificationCount;
    private long _notifiedReadCount;
    private long _publishedCount;
    private long _appliedCount;
    private long _errorCount;

    public ReplicaStateMetrics(Func<bool> connected, Func<int> replicas, Func<IEnumerable<Measurement<long>>> endpointInFlight, Func<int> remoteFlows)
    {
        _meter.CreateObservableGauge("runtime_replica_state_connected", () => connected() ? 1 : 0, description: "1 while this replica reaches the shared replica state in Redis (--replica-state), else 0 (it then routes on local state).");
        _meter.CreateObservableGauge("runtime_replica_state_replicas", replicas, description: "Other replicas of the pool whose in-flight load currently counts here.");
        _meter.CreateObservableGauge("runtime_replica_state_endpoint_in_flight_requests", endpointInFlight, description: "Requests in flight on each endpoint as this replica counts them: layer=\"local\" the ones it assigned, layer=\"remote\" the other replicas' as of their last applied batch.");
        _meter.CreateObservableGauge("runtime_replica_state_remote_fairness_flows", remoteFlows, description: "Fairness flows (program-aware-fairness) with usage reported by other replicas, counted per shared policy.");
        _published = _meter.CreateCounter<long>("runtime_replica_state_published_total", description: "Batches of local routing state this replica published to Redis.");
        _publishedBytes = _meter.CreateCounter<long>("runtime_replica_state_published_bytes_total", description: "Encoded bytes of the batches this replica published.");
        _applied = _meter.CreateCounter<long>("runtime_replica_state_applied_total", description: "Batches from other replicas applied to this replica's remote state layer.");
        _errors = _meter.CreateCounter<long>("runtime_replica_state_errors_total", description: "Failed Redis round trips and undecodable entries of the shared replica state.");
        _notifications = _meter.CreateCounter<long>("runtime_replica_state_notifications_total", description: "Notifications received that another replica published a batch (Redis Pub/Sub).");
        _reads = _meter.CreateCounter<long>("runtime_replica_state_reads_total", description: "Reads of the shared stream (XREAD): trigger=\"interval\" every batch, trigger=\"notification\" when another replica published (notifications arriving during a read coalesce into one more).");
    }

    public long Published => Interlocked.Read(ref _publishedCount);

    public long Applied => Interlocked.Read(ref _appliedCount);

    public long Errors => Interlocked.Read(ref _errorCount);

    public long Notifications => Interlocked.Read(ref _notificationCount);

    /// <summary>Stream reads a notification triggered.</summary>
    public long NotifiedReads => Interlocked.Read(ref _notifiedReadCount);

    public void OnPublished(int bytes)
    {
        Interlocked.Increment(ref _publishedCount);
        _published.Add(1);
        _publishedBytes.Add(bytes);
    }

    public void OnApplied()
    {
        Interlocked.Increment(ref _appliedCount);
        _applied.Add(1);
    }

    public void OnError()
    {
        Interlocked.Increment(ref _errorCount);
        _errors.Add(1);
    }

    public void OnNotification()
    {
        Interlocked.Increment(ref _notificationCount);
        _notifications.Add(1);
    }

    public void OnRead(bool notified)
    {
        if (notified)
        {
            Interlocked.Increment(ref _notifiedReadCount);
        }

        _reads.Add(1, new KeyValuePair<string, object?>("trigger", notified ? "notification" : "interval"));
    }

    public void Dispose() => _meter.Dispose();
}
