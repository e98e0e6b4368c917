using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Runtime.ReplicaState;
using StackExchange.Redis;

namespace Runtime.ReplicaState.Tests;

/// <summary>
/// Push: a replica's batch reaches the others a round trip after it is published (Redis Pub/Sub
/// notification, then their XREAD), not at their next batch tick. The receiving replica runs on a
/// manual clock: its ticks happen only when the test steps them, so whatever it applies between
/// steps came by push.
/// </summary>
public sealed partial class ReplicaStateRedisTests
{
    private static readonly TimeSpan s_pushed = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task BatchPublishedByA_IsAppliedByB_WithoutWaitingForBsTick()
    {
        var a = Start(interval: TimeSpan.FromSeconds(2));
        var (b, clock) = StartManual();
        await StepUntilAsync(b, clock, () => b.Sync.IsConnected, "B connected");
        await ConnectedAsync(a);
        var bTicks = b.Sync.Ticks;
        bool SameCount() => b.Endpoint(1).InFlightRequests == a.Endpoint(1).LocalInFlightRequests;

        // A start and the prompt's blocks, then one more start and an end: each within a round trip of A's publish.
        ulong prompt = 0;
        for (var round = 0; round < 2; round++)
        {
            await PushedAsync(a, () =>
            {
                prompt += 10;
                a.Endpoint(1).AddInFlight(100);
                a.Index.Add(a.Endpoint(1), [prompt, prompt + 1, prompt + 2], 1000);
            }, () => SameCount() && b.Matched([prompt, prompt + 1, prompt + 2])[1] == 3);
        }

        await PushedAsync(a, () => a.Endpoint(1).RemoveInFlight(100), SameCount);
        Assert.Equal(bTicks, b.Sync.Ticks);
        Assert.True(b.Sync.Metrics.NotifiedReads > 0);
    }

    [Fact]
    public async Task NotificationStorm_CoalescesIntoFewReads_AndPushKeepsWorking()
    {
        var (b, clock) = StartManual();
        await StepUntilAsync(b, clock, () => b.Sync.IsConnected, "B connected");

        const int Storm = 20_000;
        var channel = RedisChannel.Literal("runtime:{" + _pool + "}:state:notify");
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{_redis.Port}");
        var db = redis.GetDatabase();
        await Task.WhenAll(Enumerable.Range(0, Storm).Select(_ => db.PublishAsync(channel, "storm-replica")));
        await EventuallyAsync(() => b.Sync.Metrics.Notifications == Storm, "B receives every notification");
        await Task.Delay(200);

        // One read in flight and at most one queued: nowhere near one read per notification.
        Assert.InRange(b.Sync.Metrics.NotifiedReads, 1, Storm / 20);

        // Its own notifications (the message is its replica id) wake nothing.
        await db.PublishAsync(channel, b.Sync.ReplicaId);
        await Task.Delay(100);
        Assert.Equal(Storm, b.Sync.Metrics.Notifications);

        // Still live: a batch and its notification are applied at once.
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
        var (b, clock) = StartManual();
        await StepUntilAsync(b, clock, () => b.Sync.IsConnected, "B connected");
        await ConnectedAsync(a);
        bool SameCount() => b.Endpoint(0).InFlightRequests == a.Endpoint(0).LocalInFlightRequests;
        await PushedAsync(a, () => a.Endpoint(0).AddInFlight(1), SameCount);

        await _redis.KillAsync();
        await EventuallyAsync(() => !a.Sync.IsConnected, "A notices the outage");
        await StepUntilAsync(b, clock, () => !b.Sync.IsConnected, "B notices the outage");
        a.Endpoint(0).AddInFlight(1);
        await _redis.RestartAsync();
        await ConnectedAsync(a);
        await StepUntilAsync(b, clock, () => b.Sync.IsConnected, "B reconnected");

        // The restarted Redis is empty: A's resync brings its load back, then batches are pushed again.
        await StepUntilAsync(b, clock, SameCount, "B learns A's load by the resync");
        await PushedAsync(a, () => a.Endpoint(0).AddInFlight(1), SameCount);
    }

    [Fact]
    public async Task RedisDownAtStart_ReplicasSubscribeOnceItIsUp()
    {
        await _redis.KillAsync();
        var a = Start(interval: TimeSpan.FromSeconds(1));
        var (b, clock) = StartManual();
        await Task.Delay(500);
        Assert.False(a.Sync.IsConnected);
        Assert.False(b.Sync.IsConnected);

        await _redis.RestartAsync();
        await ConnectedAsync(a);
        await StepUntilAsync(b, clock, () => b.Sync.IsConnected, "B connected");
        bool SameCount() => b.Endpoint(0).InFlightRequests == a.Endpoint(0).LocalInFlightRequests;
        await PushedAsync(a, () => a.Endpoint(0).AddInFlight(1), SameCount);
    }

    private (Replica Replica, FakeTimeProvider Clock) StartManual()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        return (Start(interval: TimeSpan.FromSeconds(2), time: clock), clock);
    }

    /// <summary>
    /// Right after one of A's ticks makes <paramref name="change"/>, waits for A's next tick (its
    /// publish), and asserts the other replica has <paramref name="seen"/> it within <see cref="s_pushed"/>.
    /// </summary>
    private async Task PushedAsync(Replica a, Action change, Func<bool> seen)
    {
        var ticks = a.Sync.Ticks;
        await EventuallyAsync(() => a.Sync.Ticks > ticks, "A's tick");
        ticks = a.Sync.Ticks;
        change();
        Assert.False(seen(), "seen before A publishes it");
        await EventuallyAsync(() => a.Sync.Ticks > ticks, "A's next tick");
        var publishedAt = Stopwatch.GetTimestamp();
        await EventuallyAsync(seen, "the other replica applies A's batch");
        var latency = Stopwatch.GetElapsedTime(publishedAt);
        Assert.True(latency < s_pushed, $"applied {latency.TotalMilliseconds:F0} ms after A published it");
    }

    /// <summary>Steps <paramref name="replica"/>'s manual clock one interval at a time (each step one tick) until <paramref name="condition"/>.</summary>
    private async Task StepUntilAsync(Replica replica, FakeTimeProvider clock, Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (!condition())
        {
            // Before the first tick the timer may not exist yet (it starts after the connect): a step is then lost, so steps repeat.
            var ticks = replica.Sync.Ticks;
            clock.Advance(TimeSpan.FromSeconds(2));
            var retry = DateTime.UtcNow.AddMilliseconds(200);
            while (replica.Sync.Ticks == ticks && DateTime.UtcNow < retry)
            {
                await Task.Delay(5);
            }

            Assert.True(DateTime.UtcNow < deadline, $"timed out stepping until {what}; log:{Environment.NewLine}{string.Join(Environment.NewLine, _logs.Entries)}");
        }
    }
}
