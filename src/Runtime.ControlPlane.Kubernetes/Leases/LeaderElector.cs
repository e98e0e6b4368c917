using Microsoft.Extensions.Logging;
using Runtime.ControlPlane.Kubernetes.Api;

namespace Runtime.ControlPlane.Kubernetes.Leases;

/// <summary>Timings of <see cref="LeaderElector"/>; the defaults are controller-runtime's (manager/internal.go).</summary>
internal sealed record LeaderElectionOptions
{
    /// <summary>How long a standby waits, from the last change it saw, before taking a lease its holder stopped renewing.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the leader keeps retrying a failed renewal before it steps down.</summary>
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The wait between tries (renewals of the leader, acquisition attempts of a standby).</summary>
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Who this replica is in <c>spec.holderIdentity</c>; controller-runtime's is <c>hostname_uuid</c>.</summary>
    public string Identity { get; init; } = $"{Environment.MachineName}_{Guid.NewGuid()}";

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (RetryPeriod <= TimeSpan.Zero || RenewDeadline <= RetryPeriod || LeaseDuration <= RenewDeadline)
        {
            errors.Add("leader election needs 0 < retry period < renew deadline < lease duration");
        }

        return errors;
    }
}

/// <summary>
/// Leader election on a <c>coordination.k8s.io/v1</c> Lease, as client-go's leaderelection runs it
/// for controller-runtime: a candidate tries every retry period (with up to 20 % jitter) to take
/// the Lease, which it may when it does not exist, has no holder, or its holder has not changed it
/// for the lease duration (timed by this replica's clock from when it last saw the record change,
/// so clocks need not agree). The leader renews every retry period; when renewals keep failing for
/// the renew deadline (API outage, or another replica took it) it steps down and becomes a
/// candidate again. Updates name the resourceVersion read, so two candidates never both win. On
/// dispose the leader releases the Lease (no holder, 1 s duration) so a standby takes over at once.
/// </summary>
internal sealed partial class LeaderElector : IAsyncDisposable
{
    private readonly LeaseClient _lease;
    private readonly LeaderElectionOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _run;
    private LeaseRecord? _observed;
    private long _observedAt;
    private volatile bool _leader;
    private string? _lastError;

    /// <exception cref="ArgumentException">The timings are not ordered retry &lt; renew deadline &lt; lease duration.</exception>
    public LeaderElector(LeaseClient lease, LeaderElectionOptions options, ILogger logger)
    {
        if (options.Validate() is { Count: > 0 } errors)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(options));
        }

        _lease = lease;
        _options = options;
        _logger = logger;
        _time = options.TimeProvider;
    }

    /// <summary>The Lease's name (the <c>name</c> label of <c>leader_election_master_status</c>).</summary>
    public string LeaseName => _lease.Name;

    public string Identity => _options.Identity;

    public bool IsLeader => _leader;

    /// <summary>Raised after <see cref="IsLeader"/> changed (from the election's loop).</summary>
    public event Action<bool>? LeadershipChanged;

    public void Start() => _run ??= Task.Run(() => RunAsync(_stopping.Token));

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_run is not null)
        {
            await _run.ConfigureAwait(false);
        }

        if (_leader)
        {
            await ReleaseAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        Log.Candidate(_logger, _options.Identity, _lease.Namespace, _lease.Name);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                while (!await TryAcquireOrRenewAsync(stopping).ConfigureAwait(false))
                {
                    await Task.Delay(_options.RetryPeriod * (1 + (0.2 * Random.Shared.NextDouble())), _time, stopping).ConfigureAwait(false);
                }

                SetLeader(true);
                Log.Acquired(_logger, _lease.Namespace, _lease.Name, _options.Identity);
                var renewed = _time.GetTimestamp();
                while (true)
                {
                    await Task.Delay(_options.RetryPeriod, _time, stopping).ConfigureAwait(false);
                    var left = _options.RenewDeadline - _time.GetElapsedTime(renewed);
                    if (left > TimeSpan.Zero && await TryAcquireOrRenewAsync(stopping, left).ConfigureAwait(false))
                    {
                        renewed = _time.GetTimestamp();
                    }
                    else if (_time.GetElapsedTime(renewed) >= _options.RenewDeadline)
                    {
                        break;
                    }
                }

                SetLeader(false);
                Log.Lost(_logger, _lease.Namespace, _lease.Name, _options.RenewDeadline.TotalSeconds, _lastError ?? "the lease is held by another replica");
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>One try: create the Lease, renew ours, or take an expired or released one. False when it is another's or the API failed.</summary>
    /// <param name="timeout">How long the try may take (default: the renew deadline); a renewal gets what is left of it.</param>
    internal async Task<bool> TryAcquireOrRenewAsync(CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var limit = timeout ?? _options.RenewDeadline;
        var now = _time.GetUtcNow();
        var seconds = (int)Math.Ceiling(_options.LeaseDuration.TotalSeconds);
        try
        {
            // Bounded so one hung request cannot outlast the renew deadline.
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(limit);
            var current = await _lease.GetAsync(deadline.Token).ConfigureAwait(false);
            if (current is null)
            {
                Observe(await _lease.CreateAsync(new LeaseRecord(_options.Identity, seconds, now, now, 0), deadline.Token).ConfigureAwait(false));
                return Succeeded();
            }

            if (_observed is null || !SameRecord(_observed, current))
            {
                Observe(current);
            }

            var mine = current.HolderIdentity == _options.Identity;
            if (!mine && current.HolderIdentity.Length > 0 && _time.GetElapsedTime(_observedAt) < TimeSpan.FromSeconds(current.LeaseDurationSeconds))
            {
                _lastError = null;
                return false;
            }

            var next = new LeaseRecord(_options.Identity, seconds, mine ? current.AcquireTime ?? now : now, now, mine ? current.LeaseTransitions : current.LeaseTransitions + 1)
            {
                ResourceVersion = current.ResourceVersion,
            };
            Observe(await _lease.UpdateAsync(next, deadline.Token).ConfigureAwait(false));
            return Succeeded();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is KubernetesApiException or HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
        {
            // A 409 is another replica's write winning the race; anything else is an API problem. Logged once per distinct error.
            var error = ex is OperationCanceledException ? $"the API server did not answer within {limit.TotalSeconds:0.#} s" : ex.Message;
            if (error != _lastError)
            {
                _lastError = error;
                Log.TryFailed(_logger, _lease.Namespace, _lease.Name, error);
            }

            return false;
        }
    }

    private bool Succeeded()
    {
        _lastError = null;
        return true;
    }

    private void Observe(LeaseRecord record)
    {
        _observed = record;
        _observedAt = _time.GetTimestamp();
    }

    private static bool SameRecord(LeaseRecord a, LeaseRecord b) =>
        a.HolderIdentity == b.HolderIdentity && a.RenewTime == b.RenewTime && a.AcquireTime == b.AcquireTime
        && a.LeaseTransitions == b.LeaseTransitions && a.LeaseDurationSeconds == b.LeaseDurationSeconds;

    private async Task ReleaseAsync()
    {
        SetLeader(false);
        if (_observed is not { } observed || observed.HolderIdentity != _options.Identity)
        {
            return;
        }

        try
        {
            // Bounded like any other try. The lease is read again first: a renewal cut short by the
            // shutdown may still have landed, and the resourceVersion we saw last would be refused;
            // a release that fails leaves the standbys waiting out the whole lease duration.
            using var timeout = new CancellationTokenSource(_options.RenewDeadline);
            var current = await _lease.GetAsync(timeout.Token).ConfigureAwait(false);
            if (current is null || current.HolderIdentity != _options.Identity)
            {
                return;
            }

            var now = _time.GetUtcNow();
            await _lease.UpdateAsync(new LeaseRecord(string.Empty, 1, now, now, current.LeaseTransitions) { ResourceVersion = current.ResourceVersion }, timeout.Token).ConfigureAwait(false);
            Log.Released(_logger, _lease.Namespace, _lease.Name);
        }
        catch (Exception ex) when (ex is KubernetesApiException or HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
        {
            // Nothing more to do on the way out: the standbys take over when the lease expires.
            Log.ReleaseFailed(_logger, _lease.Namespace, _lease.Name, ex.Message);
        }
    }

    private void SetLeader(bool leader)
    {
        if (_leader != leader)
        {
            _leader = leader;
            LeadershipChanged?.Invoke(leader);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(5150, LogLevel.Information, "Leader election: {Identity} is a candidate for the lease {Namespace}/{Name}")]
        public static partial void Candidate(ILogger logger, string identity, string @namespace, string name);

        [LoggerMessage(5151, LogLevel.Information, "Leader election: acquired the lease {Namespace}/{Name} as {Identity}; this replica now leads and reports ready")]
        public static partial void Acquired(ILogger logger, string @namespace, string name, string identity);

        [LoggerMessage(5152, LogLevel.Warning, "Leader election: lost the lease {Namespace}/{Name} (not renewed within {DeadlineSeconds} s: {Error}); stepping down to standby")]
        public static partial void Lost(ILogger logger, string @namespace, string name, double deadlineSeconds, string error);

        [LoggerMessage(5153, LogLevel.Warning, "Leader election: reading or writing the lease {Namespace}/{Name} failed: {Error}")]
        public static partial void TryFailed(ILogger logger, string @namespace, string name, string error);

        [LoggerMessage(5154, LogLevel.Information, "Leader election: released the lease {Namespace}/{Name}")]
        public static partial void Released(ILogger logger, string @namespace, string name);

        [LoggerMessage(5155, LogLevel.Warning, "Leader election: could not release the lease {Namespace}/{Name} ({Error}); standbys take over when it expires")]
        public static partial void ReleaseFailed(ILogger logger, string @namespace, string name, string error);
    }
}
