using System.Diagnostics;
using Runtime.ReplicaState;
using StackExchange.Redis;

namespace Runtime.ReplicaState.Tests;

/// <summary>
/// Push: a replica's batch reaches the others a round trip after it is published (Redis Pub/Sub
/// notification, then their XREAD), not at their next batch tick.
/// </summary>
public sealed partial class ReplicaStateRedisTests
{
    private static readonly TimeSpan s_pushed = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task BatchPublishedByA_IsAppliedByB_WellWithinBsInterval()
    {
        // With a 2 s interval, polling would leave B up to 2 s behind A's publish.
        var a = Start(interval: TimeSpan.FromSeconds(2));
        var b = Start(interval: TimeSpan.FromSeconds(2));
        await ConnectedAsync(a, b);
        for (var i = 0; i < 6; i++)
        {
            a.Endpoint(1).AddInFlight(100);
        }

        await EventuallyAsync(() => b.Endpoint(1).InFlightRequests == 6, "B counts A's first requests");
        bool SameCount() => b.Endpoint(1).InFlightRequests == a.Endpoint(1).LocalInFlightRequests;

        // A start and the prompt's blocks.
        ulong prompt = 0;
        await PushedAsync(a, b, () =>
        {
            prompt += 10;
            a.Endpoint(1).AddInFlight(100);
            a.Index.Add(a.Endpoint(1), [prompt, prompt + 1, prompt + 2], 1000);
        }, () => SameCount() && b.Matched([prompt, prompt + 1, prompt + 2])[1] == 3);

        // An end travels the same way: B's view drops as soon as A publishes it.
        await PushedAsync(a, b, () => a.Endpoint(1).RemoveInFlight(100), SameCount);
        Assert.True(b.Sync.Metrics.Notifications > 0);
        Assert.True(b.Sync.Metrics.NotifiedReads > 0);
    }

    [Fact]
    public async Task NotificationStorm_CoalescesIntoFewReads_AndPushKeepsWorking()
    {
        var b = Start(interval: TimeSpan.FromSeconds(2));
        await ConnectedAsync(b);
        await EventuallyAsync(() => b.Sync.Ticks > 0, "B's first batch");

        const int Storm = 20_000;
        var channel = RedisChannel.Literal("runtime:{" + _pool + "}:state:notify");
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{_redis.Port}");
        var db = redis.GetDatabase();
        await Task.WhenAll(Enumerable.Range(0, Storm).Select(_ => db.PublishAsync(channel, "storm-replica")));
        await EventuallyAsync(() => b.Sync.Metrics.Notifications == Storm, "B receives every notification");
        await Task.Delay(200);

        // One read in flight and at most one queued: nowhere near one read per notification.
        var reads = b.Sync.Metrics.NotifiedReads;
        Assert.InRange(reads, 1, Storm / 20);

        // Its own notifications (the message is its replica id) wake nothing.
        await db.PublishAsync(channel, b.Sync.ReplicaId);
        await Task.Delay(100);
        Assert.Equal(Storm, b.Sync.Metrics.Notifications);

        // Still live: right after one of B's ticks (the next is 2 s away), a batch and its notification are applied at once.
        var ticks = b.Sync.Ticks;
        await EventuallyAsync(() => b.Sync.Ticks > ticks, "B's next tick");
        var started = Stopwatch.GetTimestamp();
        var load = new ReplicaUpdate { Load = [new("pod-c", 3, 30)] }.Encode();
        await db.ExecuteAsync("XADD", (RedisKey)b.Sync.StreamKey, "*", "r", "storm-replica", "d", load);
        await db.PublishAsync(channel, "storm-replica");
        await EventuallyAsync(() => b.Endpoint(2).InFlightRequests == 3, "B applies the batch after the storm");
        Assert.True(Stopwatch.GetElapsedTime(started) < s_pushed, $"applied {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms after the publish");
    }

    [Fact]
    public async Task RedisRestarted_ReplicasResubscribe_AndPushAgain()
    {
        var a = Start(interval: TimeSpan.FromSeconds(1));
        var b = Start(interval: TimeSpan.FromSeconds(1));
        await ConnectedAsync(a, b);
        bool SameCount() => b.Endpoint(0).InFlightRequests == a.Endpoint(0).LocalInFlightRequests;
        await PushedAsync(a, b, () => a.Endpoint(0).AddInFlight(1), SameCount);

        await _redis.KillAsync();
        await EventuallyAsync(() => !a.Sync.IsConnected && !b.Sync.IsConnected, "both notice the outage");
        a.Endpoint(0).AddInFlight(1);
        await _redis.RestartAsync();
        await ConnectedAsync(a, b);

        // The restarted Redis is empty: A's resync brings its load back, then pushes flow again.
        await EventuallyAsync(SameCount, "B learns A's load by the resync");
        await PushedAsync(a, b, () => a.Endpoint(0).AddInFlight(1), SameCount, attempts: 8);
    }

    /// <summary>
    /// Right after one of A's ticks makes <paramref name="change"/>, waits for A's next tick (its
    /// publish), and asserts B has <paramref name="seen"/> it within <see cref="s_pushed"/> of that
    /// publish. An attempt during which B ticked proves nothing (B's own read may have found the
    /// change): it is repeated with one more change.
    /// </summary>
    private async Task PushedAsync(Replica a, Replica b, Action change, Func<bool> seen, int attempts = 5)
    {
        var skipped = new List<string>();
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            var aTicks = a.Sync.Ticks;
            await EventuallyAsync(() => a.Sync.Ticks > aTicks, "A's tick");
            aTicks = a.Sync.Ticks;
            change();
            Assert.False(seen(), "B sees the change before A publishes it");
            await EventuallyAsync(() => a.Sync.Ticks > aTicks, "A's next tick");
            var publishedAt = Stopwatch.GetTimestamp();
            var bTicks = b.Sync.Ticks;
            await EventuallyAsync(seen, "B applies A's batch");
            var latency = Stopwatch.GetElapsedTime(publishedAt);

            // A tick of B's that read the entry completes within a millisecond or so of applying it.
            await Task.Delay(50);
            if (b.Sync.Ticks == bTicks)
            {
                Assert.True(latency < s_pushed, $"B applied A's batch {latency.TotalMilliseconds:F0} ms after A published it");
                return;
            }

            skipped.Add($"{latency.TotalMilliseconds:F0} ms");
        }

        Assert.Fail($"B only ever applied A's batches around its own ticks (after {string.Join(", ", skipped)})");
    }
}
