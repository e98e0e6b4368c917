using Microsoft.Extensions.Logging;
using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Reconcile;

/// <summary>
/// The one reconcile loop. It waits for the world cache to change, then runs a round on the
/// latest snapshot: diff against the last reconciled world, build the topology, run the workflow.
/// Changes that land during a round coalesce into the next one, so a burst of a thousand events
/// costs a handful of rounds: an isolated change is reconciled at once, but rounds start no more
/// often than <see cref="MinRoundInterval"/>. The request path never waits on this loop: the workflow's tasks
/// publish immutable snapshots that readers pick up atomically.
/// </summary>
internal sealed partial class Reconciler : IAsyncDisposable
{
    private static readonly TimeSpan s_firstRetry = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan s_maxRetry = TimeSpan.FromSeconds(30);

    private readonly WorldCache _cache;
    private readonly PoolSelection _selection;
    private readonly ReconcileWorkflow _workflow;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _roundLock = new();
    private WorldSnapshot _reconciled = WorldSnapshot.Empty;
    private Topology _topology = Topology.Empty;
    private HashSet<string> _failedTasks = [];
    private TimeSpan _retryDelay = s_firstRetry;
    private ControlPlaneStatus _status = ControlPlaneStatus.Initial;
    private TaskCompletionSource _statusChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;

    public Reconciler(WorldCache cache, PoolSelection selection, ReconcileWorkflow workflow, ILogger logger, TimeProvider? time = null)
    {
        _cache = cache;
        _selection = selection;
        _workflow = workflow;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Least time between the starts of two rounds, so a burst of events batches into few rounds.</summary>
    public TimeSpan MinRoundInterval { get; init; } = TimeSpan.FromMilliseconds(10);

    public ControlPlaneStatus Status => Volatile.Read(ref _status);

    /// <summary>The topology of the last reconciled world.</summary>
    public Topology Topology => Volatile.Read(ref _topology);

    /// <summary>Raised (on the loop's thread) after the status changed.</summary>
    public event Action<ControlPlaneStatus>? StatusChanged;

    public void Start() => _loop ??= Task.Run(() => RunAsync(_stopping.Token));

    /// <summary>Runs one round now if the world changed (or a failed task waits for a retry); returns true when a round ran.</summary>
    public bool ReconcileOnce()
    {
        lock (_roundLock)
        {
            var world = _cache.Current;
            var status = Status;
            var sources = _cache.Sources;
            var due = status.Rounds == 0 || world.Generation != _reconciled.Generation || _failedTasks.Count > 0;
            if (!due)
            {
                Publish(status with { Sources = sources });
                return false;
            }

            var topology = TopologyBuilder.Build(world, _selection);
            var round = new ReconcileRound(status.Rounds + 1, _reconciled, world, WorldDiff.Compute(_reconciled, world), _topology, topology);
            var result = _workflow.Run(round, _failedTasks);
            if (result.Skipped is not null)
            {
                Publish(status with { Sources = sources, LastError = result.Skipped });
                return false;
            }

            _reconciled = world;
            Volatile.Write(ref _topology, topology);
            _failedTasks = [.. result.Failed];
            var error = result.Errors.Count == 0 ? null : string.Join("; ", result.Errors);
            Log.Round(_logger, round.Number, world.Generation, round.Events.Count, string.Join(",", result.Ran), topology.Endpoints.Count, error ?? "none");
            Publish(new ControlPlaneStatus(round.Number, world.Generation, _time.GetUtcNow(), error, topology.PoolFound, topology.Endpoints.Count, sources));
            return true;
        }
    }

    /// <summary>Completes when <paramref name="condition"/> holds for the status (tests and start-up).</summary>
    public async Task<ControlPlaneStatus> WaitForAsync(Func<ControlPlaneStatus, bool> condition, CancellationToken cancellationToken)
    {
        while (true)
        {
            var signal = Volatile.Read(ref _statusChanged).Task;
            var status = Status;
            if (condition(status))
            {
                return status;
            }

            await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var version = _cache.Version;
            var started = _time.GetTimestamp();
            try
            {
                ReconcileOnce();
            }
#pragma warning disable CA1031 // The loop must survive a bug in topology building; the error is reported and retried.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.RoundFailed(_logger, ex);
                Publish(Status with { LastError = ex.Message });
                _failedTasks.Add("round");
            }

            try
            {
                if (_failedTasks.Count > 0)
                {
                    // Retry failed tasks with back-off, or sooner when the world moves.
                    using var delay = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    var retry = Task.Delay(_retryDelay, _time, delay.Token);
                    await Task.WhenAny(retry, _cache.WaitForChangeAsync(version, delay.Token)).ConfigureAwait(false);
                    await delay.CancelAsync().ConfigureAwait(false);
                    _retryDelay = TimeSpan.FromTicks(Math.Min(_retryDelay.Ticks * 2, s_maxRetry.Ticks));
                }
                else
                {
                    _retryDelay = s_firstRetry;
                    await _cache.WaitForChangeAsync(version, cancellationToken).ConfigureAwait(false);
                    var sinceStart = _time.GetElapsedTime(started);
                    if (sinceStart < MinRoundInterval)
                    {
                        await Task.Delay(MinRoundInterval - sinceStart, _time, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private void Publish(ControlPlaneStatus status)
    {
        var previous = Status;
        Volatile.Write(ref _status, status);
        var fired = Interlocked.Exchange(ref _statusChanged, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        fired.TrySetResult();
        if (!status.Equals(previous))
        {
            StatusChanged?.Invoke(status);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(5001, LogLevel.Information, "Reconcile round {Round}: world generation {Generation}, {Events} events, ran [{Tasks}], {Endpoints} endpoints, errors: {Error}")]
        public static partial void Round(ILogger logger, long round, long generation, int events, string tasks, int endpoints, string error);

        [LoggerMessage(5002, LogLevel.Error, "Reconcile round failed; retrying")]
        public static partial void RoundFailed(ILogger logger, Exception exception);
    }
}
