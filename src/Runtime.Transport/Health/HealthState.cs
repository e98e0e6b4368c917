namespace Runtime.Transport.Health;

/// <summary><c>grpc.health.v1.HealthCheckResponse.ServingStatus</c>.</summary>
public enum ServingStatus
{
    Unknown = 0,
    Serving = 1,
    NotServing = 2,
    ServiceUnknown = 3,
}

/// <summary>Whose health rules a <see cref="HealthState"/> follows.</summary>
internal enum HealthRules
{
    /// <summary>GIE v1.5.0 EPP (<c>cmd/epp/runner/health.go</c>): sync, and with leader election the service names.</summary>
    EndpointPicker,

    /// <summary>GIE v1.5.0 BBR (<c>cmd/bbr/runner/health.go</c>): SERVING for any name.</summary>
    BodyRouter,

    /// <summary>
    /// grpc-go's standard <c>health.NewServer()</c>, which the EPP's <c>--health-checking</c> adds to
    /// the ext_proc port: <c>""</c> and the ext_proc service are SERVING, other names unknown (NOT_FOUND).
    /// </summary>
    ExtProcPort,
}

/// <summary>
/// The health of one listener, in one place: what Check, Watch and List answer for each
/// service name, from the few facts that decide it — has the pool synced, is this replica the
/// leader, is the server shutting down. The host sets the facts; the health service reads them.
/// </summary>
/// <remarks>
/// Facts are plain volatile fields; a change completes the current change signal (after the
/// write), so a watcher that takes the signal before reading the status never misses one.
/// </remarks>
internal sealed class HealthState
{
    public const string ExtProcService = "envoy.service.ext_proc.v3.ExternalProcessor";
    public const string Liveness = "liveness";
    public const string Readiness = "readiness";

    private volatile bool _synced;
    private volatile bool _leader = true;
    private volatile bool _shuttingDown;
    private TaskCompletionSource _changed = NewSignal();

    public HealthState(HealthRules rules, bool leaderElection = false)
    {
        Rules = rules;
        LeaderElection = leaderElection && rules == HealthRules.EndpointPicker;
    }

    public HealthRules Rules { get; }

    /// <summary><c>--ha-enable-leader-election</c>: the EPP then tells liveness, readiness and unknown names apart.</summary>
    public bool LeaderElection { get; }

    /// <summary>The pool has synced (the EPP's <c>PoolHasSynced</c>); only the endpoint picker's rules read it.</summary>
    public bool Synced => _synced;

    /// <summary>This replica leads (true until the host says otherwise; with leader election, set from the Lease).</summary>
    public bool IsLeader => _leader;

    /// <summary>Shutdown began: every name that would be SERVING is NOT_SERVING for the grace period.</summary>
    public bool IsShuttingDown => _shuttingDown;

    public void SetSynced(bool synced)
    {
        _synced = synced;
        Signal();
    }

    public void SetLeader(bool leader)
    {
        _leader = leader;
        Signal();
    }

    /// <summary>Marks the start of the shutdown grace period; final.</summary>
    public void ShutDown()
    {
        _shuttingDown = true;
        Signal();
    }

    /// <summary>
    /// The status Check answers for <paramref name="service"/>, or null when these rules do not
    /// know the name (the standard server's NOT_FOUND; only <see cref="HealthRules.ExtProcPort"/>).
    /// </summary>
    public ServingStatus? Check(string service)
    {
        switch (Rules)
        {
            case HealthRules.BodyRouter:
                return Serving(true);
            case HealthRules.ExtProcPort:
                return service is "" or ExtProcService ? Serving(true) : null;
            default:
                if (!LeaderElection)
                {
                    return Serving(_synced);
                }

                return service switch
                {
                    Liveness => Serving(true),
                    "" or Readiness or ExtProcService => Serving(_synced && _leader),
                    _ => ServingStatus.ServiceUnknown,
                };
        }
    }

    /// <summary>What List answers: the names upstream lists, each with its Check status.</summary>
    public IReadOnlyList<KeyValuePair<string, ServingStatus>> List()
    {
        string[] names = Rules switch
        {
            HealthRules.ExtProcPort => ["", ExtProcService],
            HealthRules.EndpointPicker when LeaderElection => [ExtProcService, Liveness, Readiness],
            _ => [ExtProcService],
        };
        var list = new KeyValuePair<string, ServingStatus>[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            list[i] = new(names[i], Check(names[i]) ?? ServingStatus.ServiceUnknown);
        }

        return list;
    }

    /// <summary>A task that completes at the next change of any fact.</summary>
    public Task WaitForChangeAsync(CancellationToken cancellationToken) =>
        Volatile.Read(ref _changed).Task.WaitAsync(cancellationToken);

    private ServingStatus Serving(bool serving) =>
        serving && !_shuttingDown ? ServingStatus.Serving : ServingStatus.NotServing;

    private void Signal() => Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
