using System.Globalization;
using Microsoft.Extensions.Logging;
using Runtime.Endpoints;
using Runtime.FlowControl.Policies;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Prefix;
using StackExchange.Redis;

namespace Runtime.ReplicaState;

/// <summary>
/// Active-active replicas of one pool (<c>--replica-state</c>): every batch interval this replica
/// appends what it learned since the last batch (prefix blocks, and its in-flight load and
/// per-fairness-flow usage when they changed) as one entry of the pool's Redis stream, and reads
/// the entries the others appended into the remote layer of its own state (<see cref="PrefixIndex.Remote"/>,
/// <see cref="EndpointState.SetRemoteInFlight"/>, <see cref="ProgramAwareFairnessPolicy.Remote"/>), which
/// scorers, filters, saturation detectors and fairness policies read.
/// </summary>
/// <remarks>
/// The request path never waits on Redis: it only buffers (<see cref="PendingPrefixes"/>) and counts
/// (the endpoints' local in-flight counters); one loop does all I/O, pipelining its XADD, a PUBLISH
/// on the pool's notification channel and its XREAD on one connection. A notification from another
/// replica wakes the loop for an XREAD at once (coalesced: one read in flight, at most one more
/// queued), so a batch reaches the others a round trip after it is published, not at their next
/// tick; the XREAD of every tick stays as the fallback for notifications lost while reconnecting.
/// When Redis is unreachable the replica routes on local state (readiness does not change), logs it
/// once, and on reconnect republishes its load and its indexes' recent blocks.
/// The stream keeps <see cref="ReplicaStateOptions.History"/> of entries (XADD MINID trimming), so a
/// replica that starts later learns the pool's prefix index; load snapshots older than the load
/// TTL are ignored and expire, so a dead replica's load does not linger.
/// </remarks>
internal sealed partial class ReplicaStateSync : IAsyncDisposable
{
    /// <summary>Most recent blocks per endpoint republished on reconnect.</summary>
    internal const int ResyncBlocksPerEndpoint = 16_384;

    private const int ReadCount = 512;
    private const int MaxReadsPerTick = 8;

    private readonly ReplicaStateOptions _options;
    private readonly EndpointStore _store;
    private readonly Dictionary<string, PrefixIndex> _indexes = new(StringComparer.Ordinal);
    private readonly PendingPrefixes _pending = new();
    private readonly RemoteLoads _remoteLoads;
    private readonly SharedFlowUsage _usage;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private readonly RedisKey _key;
    private Task? _loop;
    private ConnectionMultiplexer? _redis;
    private int _connected;
    private bool _everConnected;
    private bool _down;
    private bool _forceLoad = true;
    private bool _badEntryLogged;
    private long _clockOffsetMs;
    private string _lastId = "0-0";
    private List<EndpointLoad> _lastLoad = [];
    private long _lastLoadAtMs;
    private (long Version, Dictionary<string, EndpointState> ByName) _names = (-1, []);
    private long _ticks;

    public ReplicaStateSync(
        ReplicaStateOptions options,
        EndpointStore store,
        IEnumerable<(string Name, PrefixIndex Index)> indexes,
        ILogger logger,
        TimeProvider? time = null,
        IEnumerable<(string Name, ProgramAwareFairnessPolicy Policy)>? fairness = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(indexes);
        _options = options;
        _store = store;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _key = options.StreamKey;
        _notifyChannel = RedisChannel.Literal(options.NotifyChannel);
        _remoteLoads = new RemoteLoads(options.LoadTtl);
        _usage = new SharedFlowUsage(fairness ?? [], options.LoadTtl);
        ReplicaId = Guid.NewGuid().ToString("N")[..12];
        Metrics = new ReplicaStateMetrics(() => IsConnected, () => _remoteLoads.LiveReplicas, ObserveInFlight, () => _usage.RemoteFlows);
        foreach (var (name, index) in indexes)
        {
            // One index may serve several plugins (a declared producer); share it once, under its first name.
            if (_indexes.ContainsValue(index) || !_indexes.TryAdd(name, index))
            {
                continue;
            }

            index.Remote ??= new PrefixIndex(index.MaxBytes);
            index.Observer = _pending.For(name);
        }
    }

    /// <summary>This replica's id in the stream (random per process).</summary>
    public string ReplicaId { get; }

    public ReplicaStateMetrics Metrics { get; }

    public bool IsConnected => Volatile.Read(ref _connected) != 0;

    /// <summary>Prefix indexes shared, by name.</summary>
    public IReadOnlyCollection<string> SharedIndexes => _indexes.Keys;

    /// <summary>The pool's Redis stream.</summary>
    public string StreamKey => _options.StreamKey;

    /// <summary>Batch intervals completed (test hook: a step of a manual clock is over once this moves).</summary>
    internal long Ticks => Interlocked.Read(ref _ticks);

    public void Start() => _loop ??= Task.Run(() => RunAsync(_stopping.Token));

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        foreach (var index in _indexes.Values)
        {
            index.Observer = null;
        }

        _remoteLoads.Clear(_store.Current);
        _usage.Detach();
        if (_redis is not null)
        {
            await _redis.DisposeAsync().ConfigureAwait(false);
        }

        Metrics.Dispose();
        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            _redis = await ConnectionMultiplexer.ConnectAsync(Configuration()).ConfigureAwait(false);
            await SubscribeAsync(_redis).ConfigureAwait(false);
            using var timer = new PeriodicTimer(_options.Interval, _time);
            var tick = timer.WaitForNextTickAsync(stopping).AsTask();
            var notified = _notifications.Reader.WaitToReadAsync(stopping).AsTask();
            while (true)
            {
                // Both cancel on stop (the awaits below then throw); a due tick goes first.
                await Task.WhenAny(tick, notified).ConfigureAwait(false);
                if (tick.IsCompleted)
                {
                    await tick.ConfigureAwait(false);
                    await RecordingFailuresAsync(TickAsync).ConfigureAwait(false);
                    ApplyRemote();
                    Interlocked.Increment(ref _ticks);
                    tick = timer.WaitForNextTickAsync(stopping).AsTask();
                }
                else
                {
                    await notified.ConfigureAwait(false);
                    _notifications.Reader.TryRead(out _);
                    await RecordingFailuresAsync(ReadNotifiedAsync).ConfigureAwait(false);
                    ApplyRemote();
                    notified = _notifications.Reader.WaitToReadAsync(stopping).AsTask();
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is RedisException or ArgumentException or InvalidOperationException)
        {
            // A configuration the client refuses: nothing to retry; the replica routes on local state.
            Volatile.Write(ref _connected, 0);
            Metrics.OnError();
            Log.ClientFailed(_logger, _options.Display, ex.Message);
            return;
        }

        await SayGoodbyeAsync().ConfigureAwait(false);
    }

    private async Task RecordingFailuresAsync(Func<Task> step)
    {
        try
        {
            await step().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or IOException or ObjectDisposedException)
        {
            Metrics.OnError();
            MarkDown(ex.Message);
        }
        catch (Exception ex) when (ex is InvalidCastException or FormatException or IndexOutOfRangeException or InvalidOperationException or ArgumentException)
        {
            // A reply of an unexpected shape: the loop must survive it (the request path never depends on it).
            Metrics.OnError();
            if (!_badEntryLogged)
            {
                _badEntryLogged = true;
                Log.BadReply(_logger, _options.Display, ex.GetType().Name, ex.Message);
            }
        }
    }

    /// <summary>Writes what the others reported (and drops what expired) into the endpoints and fairness policies.</summary>
    private void ApplyRemote()
    {
        var now = ServerNowMs();
        _remoteLoads.Apply(now, _store.Current);
        _usage.Apply(now);
    }

    private async Task TickAsync()
    {
        var redis = _redis!;
        if (!redis.IsConnected)
        {
            MarkDown("not connected");
            return;
        }

        var db = redis.GetDatabase();
        if (_down || !_everConnected)
        {
            await SyncClockAsync(db).ConfigureAwait(false);
            var resynced = _everConnected ? QueueResync() : 0;
            if (_everConnected)
            {
                Log.Reconnected(_logger, _options.Display, resynced);
            }
            else
            {
                Log.Connected(_logger, _options.Display, ReplicaId, _options.StreamKey, string.Join(", ", _indexes.Keys), _usage.IsEmpty ? "none" : string.Join(", ", _usage.Names));
            }

            _everConnected = true;
            _down = false;
            _forceLoad = true;
            Volatile.Write(ref _connected, 1);
        }

        var now = ServerNowMs();
        var update = new ReplicaUpdate();
        var prefixes = _pending.Drain();
        update.Prefixes.AddRange(prefixes);
        var load = LocalLoad();
        if (_forceLoad || !SameLoad(load, _lastLoad) || (load.Count > 0 && now - _lastLoadAtMs >= (long)_options.LoadTtl.TotalMilliseconds / 3))
        {
            update.Load = load;
        }

        update.Usage = _usage.SnapshotIfChanged(now, _forceLoad);

        // Issued together, awaited after: the client pipelines them on its one connection, and Redis
        // runs them in order, so whoever the PUBLISH wakes finds the entry when it reads.
        Task<RedisResult>? add = null;
        Task<long>? notify = null;
        var bytes = 0;
        if (!update.IsEmpty)
        {
            var payload = update.Encode();
            bytes = payload.Length;
            var minId = (now - (long)_options.History.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
            add = db.ExecuteAsync("XADD", _key, "MINID", "~", minId, "*", "r", ReplicaId, "d", payload);
            notify = db.PublishAsync(_notifyChannel, ReplicaId);
        }

        // Notifications received so far name entries this read returns: no read of their own.
        _notifications.Reader.TryRead(out _);
        var read = db.ExecuteAsync("XREAD", "COUNT", ReadCount, "STREAMS", _key, _lastId);
        Metrics.OnRead(notified: false);
        Exception? failure = null;
        if (add is not null)
        {
            try
            {
                await add.ConfigureAwait(false);
                await notify!.ConfigureAwait(false);
                Metrics.OnPublished(bytes);
                if (update.Load is not null)
                {
                    (_lastLoad, _lastLoadAtMs, _forceLoad) = (load, now, false);
                }

                if (update.Usage is not null)
                {
                    _usage.Published(update.Usage, now);
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                _pending.Requeue(prefixes);
                _forceLoad = true;
                failure = ex;
            }
        }

        var entries = await read.ConfigureAwait(false);
        if (failure is not null)
        {
            throw failure;
        }

        await ApplyAllAsync(db, entries, notified: false).ConfigureAwait(false);
    }

    /// <summary>Applies one XREAD reply, then reads on while replies come full (a backlog), up to <see cref="MaxReadsPerTick"/> reads.</summary>
    private async Task ApplyAllAsync(IDatabase db, RedisResult entries, bool notified)
    {
        for (var reads = 1; Apply(entries) == ReadCount && reads < MaxReadsPerTick; reads++)
        {
            Metrics.OnRead(notified);
            entries = await db.ExecuteAsync("XREAD", "COUNT", ReadCount, "STREAMS", _key, _lastId).ConfigureAwait(false);
        }
    }

    /// <summary>Applies one XREAD reply; returns how many entries it held.</summary>
    private int Apply(RedisResult reply)
    {
        if (reply.IsNull || reply.Length == 0)
        {
            return 0;
        }

        var entries = reply[0][1];
        var now = ServerNowMs();
        for (var i = 0; i < entries.Length; i++)
        {
            var id = (string)entries[i][0]!;
            _lastId = id;
            var fields = entries[i][1];
            string? replica = null;
            byte[]? payload = null;
            for (var f = 0; f + 1 < fields.Length; f += 2)
            {
                switch ((string?)fields[f])
                {
                    case "r": replica = (string?)fields[f + 1]; break;
                    case "d": payload = (byte[]?)fields[f + 1]; break;
                }
            }

            if (replica is null || payload is null || replica == ReplicaId)
            {
                continue;
            }

            try
            {
                ApplyUpdate(replica, EntryTimeMs(id), ReplicaUpdate.Decode(payload), now);
                Metrics.OnApplied();
            }
            catch (FormatException ex)
            {
                Metrics.OnError();
                if (!_badEntryLogged)
                {
                    _badEntryLogged = true;
                    Log.BadEntry(_logger, id, _options.StreamKey, ex.Message);
                }
            }
        }

        return entries.Length;
    }

    private void ApplyUpdate(string replica, long atMs, ReplicaUpdate update, long nowMs)
    {
        if (update.Load is not null && nowMs - atMs <= (long)_options.LoadTtl.TotalMilliseconds)
        {
            _remoteLoads.Report(replica, atMs, update.Load);
        }

        if (update.Usage is not null && nowMs - atMs <= (long)_options.LoadTtl.TotalMilliseconds)
        {
            _usage.Report(replica, atMs, update.Usage);
        }

        if (update.Prefixes.Count == 0)
        {
            return;
        }

        var byName = EndpointsByName();
        foreach (var blocks in update.Prefixes)
        {
            if (_indexes.TryGetValue(blocks.Index, out var index) && byName.TryGetValue(blocks.Endpoint, out var endpoint))
            {
                index.Remote!.Add(endpoint, blocks.Hashes, blocks.Capacity > 0 ? blocks.Capacity : PrefixCacheScorerParameters.DefaultLruCapacityPerServer);
            }
        }
    }

    /// <summary>After an outage: buffer each local set's most recent blocks so the others (and a restarted Redis) learn them again.</summary>
    private int QueueResync()
    {
        var queued = 0;
        foreach (var (name, index) in _indexes)
        {
            foreach (var set in index.Sets)
            {
                if (set.Endpoint.IsRetired || set.Count == 0)
                {
                    continue;
                }

                var hashes = new ulong[Math.Min(set.Count, ResyncBlocksPerEndpoint)];
                var count = set.CopyRecent(hashes);
                _pending.Add(new PrefixBlocks(name, set.Endpoint.Endpoint.Name, 0, hashes[..count]));
                queued += count;
            }
        }

        return queued;
    }

    private void MarkDown(string reason)
    {
        Volatile.Write(ref _connected, 0);
        if (!_down)
        {
            _down = true;
            Log.Unreachable(_logger, _options.Display, reason);
        }
    }
}
