using Microsoft.Extensions.Time.Testing;
using Runtime.Endpoints;
using Runtime.FlowControl;
using Runtime.FlowControl.Policies;
using Runtime.Plugins.Saturation;
using Runtime.ReplicaState;
using Runtime.Scheduling.Prefix;
using Runtime.TestSupport.Hosting;
using Runtime.TestSupport.Logging;
using StackExchange.Redis;

namespace Runtime.ReplicaState.Tests;

/// <summary>
/// Per-fairness-flow usage shared between replicas, and the in-flight lag bound, against a real
/// redis-server.
/// </summary>
[Trait("Category", "Redis")]
public sealed class ReplicaStateSharingTests : IAsyncLifetime
{
    private const string Policy = "fair";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(15);
    private static readonly Endpoint[] s_endpoints = [new("pod-a", "10.0.0.1", 8000), new("pod-b", "10.0.0.2", 8000)];

    private readonly string _pool = "ns/pool-" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<Replica> _replicas = [];
    private readonly CapturingLoggerProvider _logs = new();
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.Sync.DisposeAsync();
        }

        await _redis.DisposeAsync();
        _logs.Dispose();
    }

    [Fact]
    public async Task FlowSaturatingThroughReplicaA_IsServedLastByReplicaB()
    {
        var a = Start();
        var b = Start();
        await EventuallyAsync(() => a.Sync.IsConnected && b.Sync.IsConnected, "replicas connected");

        // "batch" floods the pool through A only: A alone saw its requests complete.
        for (var i = 0; i < 20; i++)
        {
            a.Fairness.RecordCompletion("batch", 2000, 500);
        }

        b.Fairness.RecordCompletion("chat", 200, 50);
        await EventuallyAsync(() => b.Fairness.AttainedService("batch") >= 59_000, "B counts the service A's batch requests attained");
        Assert.Equal(0, b.Fairness.LocalService("batch"));

        // At B both flows wait, batch first: least attained service across the pool serves chat first.
        var gate = new OneAtATime();
        await using var controller = new FlowController(
            new FlowControlOptions { DefaultPriorityBand = new PriorityBandOptions { FairnessPolicy = b.Fairness } },
            new FlowControlDependencies { SaturationDetector = gate });
        var batch = controller.EnqueueAndWaitAsync(new FlowControlRequest("batch", 0, 1)).AsTask();
        await Task.Delay(20);
        var chat = controller.EnqueueAndWaitAsync(new FlowControlRequest("chat", 0, 1)).AsTask();
        gate.Allow(1);
        controller.NotifyCapacityChanged();
        Assert.Equal(FlowControlOutcome.Dispatched, (await chat.WaitAsync(s_timeout)).Outcome);
        Assert.False(batch.IsCompleted);

        // A stops gracefully: B's decisions go back to what B saw itself (batch waited longest).
        _replicas.Remove(a);
        await a.Sync.DisposeAsync();
        await EventuallyAsync(() => b.Fairness.AttainedService("batch") == 0, "B drops A's usage when A stops");
        var chat2 = controller.EnqueueAndWaitAsync(new FlowControlRequest("chat", 0, 1)).AsTask();
        gate.Allow(1);
        controller.NotifyCapacityChanged();
        Assert.Equal(FlowControlOutcome.Dispatched, (await batch.WaitAsync(s_timeout)).Outcome);
        Assert.False(chat2.IsCompleted);
        gate.Allow(1);
        controller.NotifyCapacityChanged();
        await chat2.WaitAsync(s_timeout);
    }

    [Fact]
    public async Task DeadReplicasFlowUsage_Expires()
    {
        var b = Start(ttl: TimeSpan.FromMilliseconds(800));
        await EventuallyAsync(() => b.Sync.IsConnected, "B connected");

        // A replica that reported usage and died (no more entries, no goodbye); a policy B does not run is ignored.
        await using (var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{_redis.Port}"))
        {
            var dead = new ReplicaUpdate { Usage = [new(Policy, "batch", 40_000), new("other-policy", "batch", 1)] }.Encode();
            await redis.GetDatabase().ExecuteAsync("XADD", (RedisKey)b.Sync.StreamKey, "*", "r", "dead-replica", "d", dead);
        }

        await EventuallyAsync(() => b.Fairness.AttainedService("batch") == 40_000, "B counts the dead replica's usage at first");
        await EventuallyAsync(() => b.Fairness.AttainedService("batch") == 0, "then it expires");
    }

    [Fact]
    public void UsageSnapshot_RoundTrips_AndBadValuesAreRefused()
    {
        var update = new ReplicaUpdate { Load = [new("pod-a", 1, 10)], Usage = [new(Policy, "batch", 1234.5), new(Policy, "chat", 7)] };
        var decoded = ReplicaUpdate.Decode(update.Encode());
        Assert.Equal(update.Usage, decoded.Usage);
        Assert.Equal(update.Load, decoded.Load);

        // An entry of a build that shares no usage decodes with none (a mixed-version pool keeps working).
        Assert.Null(ReplicaUpdate.Decode(new ReplicaUpdate { Load = [] }.Encode()).Usage);

        var negative = new ReplicaUpdate { Usage = [new(Policy, "batch", -1)] }.Encode();
        Assert.Throws<FormatException>(() => ReplicaUpdate.Decode(negative));
        var nan = new ReplicaUpdate { Usage = [new(Policy, "batch", double.NaN)] }.Encode();
        Assert.Throws<FormatException>(() => ReplicaUpdate.Decode(nan));
    }

    /// <summary>
    /// The acceptance: a replica's in-flight count for an endpoint differs from the true total
    /// by at most the requests the others started (or ended) since their last batch. Each replica runs
    /// on its own manual clock, so batches happen exactly when the test steps them.
    /// </summary>
    [Fact]
    public async Task InFlightView_DiffersFromTheTruth_ByAtMostTheOthersUnbatchedRequests()
    {
        var clockA = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var clockB = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var a = Start(TimeSpan.FromSeconds(60), clockA);
        var b = Start(TimeSpan.FromSeconds(60), clockB);
        await StepAsync(a, clockA);
        await StepAsync(b, clockB);
        await EventuallyAsync(() => a.Sync.IsConnected && b.Sync.IsConnected, "replicas connected");

        // Per round: what A starts and ends, then B, each after the other's batch (a fixed, mixed pattern).
        (int Start, int End)[] rounds = [(5, 0), (3, 2), (0, 4), (7, 1), (2, 6), (4, 4), (1, 0), (0, 3)];
        for (var round = 0; round < rounds.Length; round++)
        {
            var (starts, ends) = rounds[round];
            Change(a, starts, ends);
            await StepAsync(a, clockA);

            // B's last batch is older than B's newest changes: A sees B's up to then, not the new ones.
            var (bStarts, bEnds) = rounds[(round + 3) % rounds.Length];
            var bEnded = Change(b, bStarts, bEnds);
            AssertWithinBound(a, Truth(a, b), bStarts + bEnded, exactLag: bStarts - bEnded);

            await StepAsync(b, clockB);
            AssertWithinBound(b, Truth(a, b), 0, exactLag: 0);

            // Changes A makes after its batch are what B misses until A's next one.
            var aEnded = Change(a, 2, 1);
            AssertWithinBound(b, Truth(a, b), 2 + aEnded, exactLag: 2 - aEnded);
        }

        // Once both have batched with nothing new, every view is exact.
        await StepAsync(a, clockA);
        await StepAsync(b, clockB);
        await StepAsync(a, clockA);
        Assert.Equal(Truth(a, b), a.Endpoint(0).InFlightRequests);
        Assert.Equal(Truth(a, b), b.Endpoint(0).InFlightRequests);
    }

    /// <summary>Starts <paramref name="starts"/> requests on pod-a, then ends up to <paramref name="ends"/>; returns how many ended.</summary>
    private static int Change(Replica replica, int starts, int ends)
    {
        for (var i = 0; i < starts; i++)
        {
            replica.Endpoint(0).AddInFlight(10);
        }

        var ended = 0;
        for (; ended < ends && replica.Endpoint(0).LocalInFlightRequests > 0; ended++)
        {
            replica.Endpoint(0).RemoveInFlight(10);
        }

        return ended;
    }

    private static long Truth(Replica a, Replica b) => a.Endpoint(0).LocalInFlightRequests + b.Endpoint(0).LocalInFlightRequests;

    private static void AssertWithinBound(Replica viewer, long truth, int unbatched, int exactLag)
    {
        var view = viewer.Endpoint(0).InFlightRequests;
        Assert.True(Math.Abs(truth - view) <= unbatched, $"view {view}, truth {truth}, unbatched changes {unbatched}");
        Assert.Equal(exactLag, truth - view);
    }

    /// <summary>One batch interval of <paramref name="replica"/>: its clock moves one interval and the test waits for the batch to finish.</summary>
    private async Task StepAsync(Replica replica, FakeTimeProvider clock)
    {
        var before = replica.Sync.Ticks;
        var deadline = DateTime.UtcNow + s_timeout;
        var connected = before > 0;
        clock.Advance(TimeSpan.FromMilliseconds(20));
        var retry = DateTime.UtcNow.AddMilliseconds(200);
        while (replica.Sync.Ticks == before)
        {
            Assert.True(DateTime.UtcNow < deadline, $"no batch after stepping the clock; log:{Environment.NewLine}{string.Join(Environment.NewLine, _logs.Entries)}");

            // Before its first batch the timer may not exist yet (it starts after the connect): an
            // advance is lost then, so step again. Later one advance is exactly one batch.
            if (!connected && DateTime.UtcNow > retry)
            {
                clock.Advance(TimeSpan.FromMilliseconds(20));
                retry = DateTime.UtcNow.AddMilliseconds(200);
            }

            await Task.Delay(2);
        }
    }

    private Replica Start(TimeSpan? ttl = null, TimeProvider? time = null)
    {
        var options = ReplicaStateOptions.TryParse(_redis.Url, [])! with
        {
            Pool = _pool,
            Interval = TimeSpan.FromMilliseconds(20),
            LoadTtl = ttl ?? TimeSpan.FromSeconds(2),
        };
        var store = new EndpointStore();
        store.Publish(s_endpoints);
        var fairness = new ProgramAwareFairnessPolicy(new ProgramAwareFairnessOptions());
        var sync = new ReplicaStateSync(options, store, [("prefix-cache-scorer", new PrefixIndex())], _logs.CreateLogger("replica-" + _replicas.Count), time, [(Policy, fairness)]);
        sync.Start();
        var replica = new Replica(store, fairness, sync);
        _replicas.Add(replica);
        return replica;
    }

    private async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting until {what}; log:{Environment.NewLine}{string.Join(Environment.NewLine, _logs.Entries)}");
            }

            await Task.Delay(10);
        }
    }

    private sealed record Replica(EndpointStore Store, ProgramAwareFairnessPolicy Fairness, ReplicaStateSync Sync)
    {
        public EndpointState Endpoint(int i) => Store.Current.Endpoints.Single(e => e.Endpoint.Name == s_endpoints[i].Name);
    }

    /// <summary>Lets exactly as many requests through as allowed.</summary>
    private sealed class OneAtATime : ISaturationDetector
    {
        private int _allowed;

        public void Allow(int count) => Interlocked.Add(ref _allowed, count);

        public double GetSaturation() => Volatile.Read(ref _allowed) > 0 ? 0 : 1;

        public void OnDispatched(int priority) => Interlocked.Decrement(ref _allowed);
    }
}
