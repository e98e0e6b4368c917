using Runtime.Endpoints;
using Runtime.ReplicaState;
using Runtime.Scheduling.Prefix;
using Runtime.TestSupport.Hosting;
using Runtime.TestSupport.Logging;
using StackExchange.Redis;

namespace Runtime.ReplicaState.Tests;

/// <summary>Replicas sharing state through a real redis-server on a free loopback port.</summary>
[Trait("Category", "Redis")]
public sealed partial class ReplicaStateRedisTests : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(15);
    private static readonly Endpoint[] s_endpoints = [new("pod-a", "10.0.0.1", 8000), new("pod-b", "10.0.0.2", 8000), new("pod-c", "10.0.0.3", 8000)];

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
    public async Task PrefixLearnedByOneReplica_IsMatchedByTheOther()
    {
        var a = Start();
        var b = Start();
        await ConnectedAsync(a, b);

        ulong[] prompt = [11, 22, 33, 44, 55, 66];
        a.Index.Add(a.Endpoint(1), prompt, 1000);

        // B never saw the request, yet pod-b now matches the whole prompt there, and only pod-b.
        await EventuallyAsync(() => b.Matched(prompt)[1] == prompt.Length, "B matches A's blocks on pod-b");
        Assert.Equal(new double[] { 0, prompt.Length, 0 }, b.Matched(prompt));

        // The remote layer stays apart: B's own index learned nothing and republishes nothing.
        Assert.Equal(0, b.Index.Entries);
        Assert.Equal(prompt.Length, b.Index.Remote!.Entries);
    }

    [Fact]
    public async Task InFlightCounts_Converge_AndReturnToZero()
    {
        var a = Start();
        var b = Start();
        await ConnectedAsync(a, b);

        for (var i = 0; i < 3; i++)
        {
            a.Endpoint(0).AddInFlight(100);
        }

        b.Endpoint(0).AddInFlight(50);
        await EventuallyAsync(() => a.Endpoint(0).InFlightRequests == 4 && b.Endpoint(0).InFlightRequests == 4, "both count 4 requests on pod-a");
        Assert.Equal(350, a.Endpoint(0).InFlightTokens);
        Assert.Equal(350, b.Endpoint(0).InFlightTokens);
        Assert.Equal(3, a.Endpoint(0).LocalInFlightRequests);

        for (var i = 0; i < 3; i++)
        {
            a.Endpoint(0).RemoveInFlight(100);
        }

        await EventuallyAsync(() => b.Endpoint(0).InFlightRequests == 1, "B sees A's requests finish");
        Assert.Equal(1, a.Endpoint(0).InFlightRequests);
    }

    [Fact]
    public async Task RedisKilled_ReplicasServeFromLocalState_AndResynchroniseOnRestart()
    {
        var a = Start();
        var b = Start();
        await ConnectedAsync(a, b);

        await _redis.KillAsync();
        await EventuallyAsync(() => !a.Sync.IsConnected && !b.Sync.IsConnected, "both notice the outage");

        // The request path does not notice: recording and matching work on local state.
        ulong[] prompt = [7, 8, 9, 10];
        a.Index.Add(a.Endpoint(2), prompt, 1000);
        a.Endpoint(2).AddInFlight(10);
        Assert.Equal(new double[] { 0, 0, prompt.Length }, a.Matched(prompt));
        Assert.Equal(1, a.Endpoint(2).InFlightRequests);
        await Task.Delay(200);
        Assert.Equal(0, b.Matched(prompt)[2]);

        // A restarted Redis is empty: what A learned during the outage arrives by A's resync.
        await _redis.RestartAsync();
        await ConnectedAsync(a, b);
        await EventuallyAsync(() => b.Matched(prompt)[2] == prompt.Length, "B learns the blocks A recorded while Redis was away");
        await EventuallyAsync(() => b.Endpoint(2).InFlightRequests == 1, "B learns A's in-flight request again");

        // Said once per outage, per replica: unreachable, then reconnected.
        Assert.Equal(2, _logs.Entries.Count(e => e.EventId.Id == 5201));
        Assert.Equal(2, _logs.Entries.Count(e => e.EventId.Id == 5202));
    }

    [Fact]
    public async Task StoppedReplica_ItsLoadExpires_AndAGracefulStopDropsItAtOnce()
    {
        var b = Start(ttl: TimeSpan.FromMilliseconds(800));
        await ConnectedAsync(b);

        // A replica that reported load and then died (no more entries, no goodbye).
        await using (var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{_redis.Port}"))
        {
            var dead = new ReplicaUpdate { Load = [new("pod-c", 5, 500)] }.Encode();
            await redis.GetDatabase().ExecuteAsync("XADD", (RedisKey)b.Sync.StreamKey, "*", "r", "dead-replica", "d", dead);
        }

        await EventuallyAsync(() => b.Endpoint(2).InFlightRequests == 5, "B counts the dead replica's load at first");
        await EventuallyAsync(() => b.Endpoint(2).InFlightRequests == 0, "then it expires");

        // A live replica that stops gracefully says so: B drops its load well before the TTL.
        var c = Start(ttl: TimeSpan.FromSeconds(60));
        var d = Start(ttl: TimeSpan.FromSeconds(60));
        await ConnectedAsync(c, d);
        c.Endpoint(0).AddInFlight(1);
        await EventuallyAsync(() => d.Endpoint(0).InFlightRequests == 1, "D counts C's request");
        _replicas.Remove(c);
        await c.Sync.DisposeAsync();
        await EventuallyAsync(() => d.Endpoint(0).InFlightRequests == 0, "D drops C's load when C stops", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task PasswordProtectedRedis_ConnectsWithThePassword_AndServesLocallyWithAWrongOne()
    {
        await _redis.DisposeAsync();
        _redis = await RedisServer.StartAsync("--requirepass", "pa55word");
        var good = Start(password: "pa55word");
        var other = Start(password: "pa55word");
        await ConnectedAsync(good, other);
        other.Endpoint(1).AddInFlight(1);
        await EventuallyAsync(() => good.Endpoint(1).InFlightRequests == 1, "shared through an authenticated connection");

        var wrong = Start(password: "not-it");
        await Task.Delay(1000);
        Assert.False(wrong.Sync.IsConnected);
        wrong.Endpoint(0).AddInFlight(1);
        Assert.Equal(1, wrong.Endpoint(0).InFlightRequests);
    }

    private Replica Start(TimeSpan? ttl = null, string? password = null, TimeSpan? interval = null, TimeProvider? time = null)
    {
        var options = ReplicaStateOptions.TryParse(_redis.Url, [])! with
        {
            Pool = _pool,
            Interval = interval ?? TimeSpan.FromMilliseconds(10),
            LoadTtl = ttl ?? TimeSpan.FromSeconds(2),
            Password = password,
        };
        var store = new EndpointStore();
        store.Publish(s_endpoints);
        var index = new PrefixIndex();
        var sync = new ReplicaStateSync(options, store, [("prefix-cache-scorer", index)], _logs.CreateLogger("replica-" + _replicas.Count), time);
        sync.Start();
        var replica = new Replica(store, index, sync);
        _replicas.Add(replica);
        return replica;
    }

    private Task ConnectedAsync(params Replica[] replicas) =>
        EventuallyAsync(() => replicas.All(r => r.Sync.IsConnected), "replicas connected");

    private async Task EventuallyAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? s_timeout);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting until {what}; log:{Environment.NewLine}{string.Join(Environment.NewLine, _logs.Entries)}");
            }

            await Task.Delay(10);
        }
    }

    private sealed record Replica(EndpointStore Store, PrefixIndex Index, ReplicaStateSync Sync)
    {
        public EndpointState Endpoint(int i) => Store.Current.Endpoints.Single(e => e.Endpoint.Name == s_endpoints[i].Name);

        public double[] Matched(ulong[] prompt)
        {
            var candidates = s_endpoints.Select((_, i) => Endpoint(i)).ToArray();
            var matched = new double[candidates.Length];
            Index.Match(prompt, candidates, matched, new int[candidates.Length], new EndpointPrefixSet?[candidates.Length]);
            return matched;
        }
    }
}
