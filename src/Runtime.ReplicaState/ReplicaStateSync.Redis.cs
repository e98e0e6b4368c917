using System.Globalization;
using System.Threading.Channels;
using StackExchange.Redis;

namespace Runtime.ReplicaState;

/// <summary>
/// The Redis side of <see cref="ReplicaStateSync"/>: the client's configuration, the pool's
/// notification channel (each replica PUBLISHes its id right after its XADD) and the coalescing of
/// notifications into reads, the Redis clock, and the goodbye.
/// </summary>
internal sealed partial class ReplicaStateSync
{
    // Capacity 1, extra writes dropped: however many notifications arrive during a read, one more read follows.
    private readonly Channel<bool> _notifications = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private readonly RedisChannel _notifyChannel;

    private ConfigurationOptions Configuration()
    {
        var config = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            Ssl = _options.Tls,
            SslHost = _options.Tls ? _options.Host : null,
            User = _options.User,
            Password = _options.Password,
            DefaultDatabase = _options.Database,
            ClientName = "runtime-" + ReplicaId,
            ConnectTimeout = 2000,
            AsyncTimeout = 2000,
            SyncTimeout = 2000,
            KeepAlive = 5,

            // The replies are parsed as RESP2 arrays (XREAD, TIME), whatever the client's default.
            Protocol = RedisProtocol.Resp2,

            // Fail at once while disconnected instead of queueing: stale batches are rebuilt on reconnect.
            BacklogPolicy = BacklogPolicy.FailFast,
            ReconnectRetryPolicy = new LinearRetry(500),
        };
        config.EndPoints.Add(_options.Host, _options.Port);
        return config;
    }

    /// <summary>
    /// Subscribes once: the client keeps the subscription registered even when this first attempt
    /// fails, and subscribes again on every reconnect. Notifications lost meanwhile are made up by
    /// a read when the subscription connection comes back, and by every tick's read.
    /// </summary>
    private async Task SubscribeAsync(ConnectionMultiplexer redis)
    {
        redis.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Subscription)
            {
                _notifications.Writer.TryWrite(true);
            }
        };
        try
        {
            await redis.GetSubscriber().SubscribeAsync(_notifyChannel, OnNotification).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Redis is not there yet: the ticks say so (once) and the client subscribes when it is.
        }
    }

    /// <summary>Runs on the client's thread: only counts and signals the loop (never waits, never reads).</summary>
    private void OnNotification(RedisChannel channel, RedisValue message)
    {
        if (message == ReplicaId)
        {
            return;
        }

        Metrics.OnNotification();
        _notifications.Writer.TryWrite(true);
    }

    /// <summary>Reads what the others appended, now rather than at the next tick.</summary>
    private async Task ReadNotifiedAsync()
    {
        // Before the first tick (clock, log) or while down (the tick resynchronises first), the tick reads.
        if (_redis is not { IsConnected: true } redis || _down || !_everConnected)
        {
            return;
        }

        var db = redis.GetDatabase();
        Metrics.OnRead(notified: true);
        var entries = await db.ExecuteAsync("XREAD", "COUNT", ReadCount, "STREAMS", _key, _lastId).ConfigureAwait(false);
        await ApplyAllAsync(db, entries, notified: true).ConfigureAwait(false);
    }

    private async Task SyncClockAsync(IDatabase db)
    {
        // Entry ids carry Redis' clock; load ages are judged on it, whatever this host's clock says.
        var time = await db.ExecuteAsync("TIME").ConfigureAwait(false);
        var serverMs = (long.Parse((string)time[0]!, CultureInfo.InvariantCulture) * 1000) + (long.Parse((string)time[1]!, CultureInfo.InvariantCulture) / 1000);
        _clockOffsetMs = serverMs - _time.GetUtcNow().ToUnixTimeMilliseconds();
    }

    private long ServerNowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds() + _clockOffsetMs;

    private static long EntryTimeMs(string id) =>
        long.TryParse(id.AsSpan(0, Math.Max(0, id.IndexOf('-', StringComparison.Ordinal))), NumberStyles.None, CultureInfo.InvariantCulture, out var ms) ? ms : 0;

    /// <summary>On shutdown: empty load and usage snapshots, so the others drop this replica's share now rather than after the TTL.</summary>
    private async Task SayGoodbyeAsync()
    {
        if (_redis is not { IsConnected: true } redis || (_lastLoad.Count == 0 && !_usage.PublishedAny))
        {
            return;
        }

        try
        {
            var payload = new ReplicaUpdate { Load = [], Usage = _usage.IsEmpty ? null : [] }.Encode();
            var db = redis.GetDatabase();
            var add = db.ExecuteAsync("XADD", _key, "*", "r", ReplicaId, "d", payload);
            var notify = db.PublishAsync(_notifyChannel, ReplicaId);
            await Task.WhenAll(add, notify).WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Metrics.OnError();
        }
    }
}
