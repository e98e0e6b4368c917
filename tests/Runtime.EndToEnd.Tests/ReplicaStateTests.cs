using System.Globalization;
using System.Text;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Simulation;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// Active-active replicas through the AOT binary: two <c>runtime serve --replica-state</c> processes
/// in front of the same simulators, sharing through a real <c>redis-server</c>.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class ReplicaStateTests : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(15);

    private SimulatorFarm _farm = null!;
    private RedisServer _redis = null!;

    public async Task InitializeAsync()
    {
        _farm = await SimulatorFarm.StartAsync(3, new SimulatorOptions());
        _redis = await RedisServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _redis.DisposeAsync();
        await _farm.DisposeAsync();
    }

    private Task<BinaryRuntimeServer> StartReplicaAsync(params string[] args) =>
        BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--endpoints", string.Join(",", _farm.Servers.Select(s => s.Address)), "--replica-state", _redis.Url, "--replica-state-interval", "10ms", .. args]);

    [Fact]
    public async Task LongPromptPickedByOneReplica_IsSentToTheSameEndpointByTheOther()
    {
        await using var a = await StartReplicaAsync();
        await using var b = await StartReplicaAsync();
        await ConnectedAsync(a, b);
        using var clientA = new EnvoyExtProcClient(a.ExtProcAddress);
        using var clientB = new EnvoyExtProcClient(b.ExtProcAddress);

        // Each prompt is new to both; B has never seen it, so only A's shared index can send it to A's pick.
        for (var i = 0; i < 6; i++)
        {
            var prompt = LongPrompt(i);
            var picked = await PickAsync(clientA, prompt);
            await Task.Delay(150);
            Assert.Equal(picked, await PickAsync(clientB, prompt));
        }

        var metrics = await MetricsAsync(b);
        Assert.Contains("runtime_replica_state_connected 1", metrics, StringComparison.Ordinal);
        Assert.True(Counter(metrics, "runtime_replica_state_applied_total") > 0, metrics);
    }

    [Fact]
    public async Task RedisKilledMidLoad_NoRequestFails_AndTheReplicasResynchronise()
    {
        await using var a = await StartReplicaAsync();
        await using var b = await StartReplicaAsync();
        await ConnectedAsync(a, b);
        using var clientA = new EnvoyExtProcClient(a.ExtProcAddress);
        using var clientB = new EnvoyExtProcClient(b.ExtProcAddress);

        using var stop = new CancellationTokenSource();
        var served = 0;
        async Task LoadAsync(EnvoyExtProcClient client)
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                await PickAsync(client, LongPrompt(1000 + (i % 20)));
                Interlocked.Increment(ref served);
            }
        }

        var load = Task.WhenAll(LoadAsync(clientA), LoadAsync(clientB));
        await Task.Delay(500);
        await _redis.KillAsync();
        await EventuallyAsync(async () => (await MetricsAsync(a)).Contains("runtime_replica_state_connected 0", StringComparison.Ordinal), "A reports the outage");
        await Task.Delay(500);

        // Still ready while Redis is away.
        Assert.Contains("runtime_replica_state_connected 0", await MetricsAsync(b), StringComparison.Ordinal);
        await _redis.RestartAsync();
        await ConnectedAsync(a, b);
        await Task.Delay(300);
        await stop.CancelAsync();
        await load; // any failed pick has thrown here
        Assert.True(served > 20, $"only {served} requests served");
        a.EnsureRunning();
        b.EnsureRunning();
        Assert.Contains("is unreachable", a.Process.Output, StringComparison.Ordinal);
        // The reconnect is logged just after the gauge flips back.
        await EventuallyAsync(() => Task.FromResult(a.Process.Output.Contains("reconnected to", StringComparison.Ordinal)), "A logs the reconnect");

        // After the restart (an empty Redis) sharing works again.
        // A must have applied B's batch (which follows B's pick) before it is asked.
        var prompt = LongPrompt(99);
        var appliedBefore = Counter(await MetricsAsync(a), "runtime_replica_state_applied_total");
        var picked = await PickAsync(clientB, prompt);
        await EventuallyAsync(async () => Counter(await MetricsAsync(a), "runtime_replica_state_applied_total") > appliedBefore, "A applies B's batch after the restart");
        await Task.Delay(250); // and the batches that follow, under a loaded CI machine
        Assert.Equal(picked, await PickAsync(clientA, prompt));
    }

    [Fact]
    public async Task FairnessUsageOfARequestServedThroughOneReplica_ReachesTheOther()
    {
        const string config = """
            apiVersion: llm-d.ai/v1alpha1
            kind: EndpointPickerConfig
            featureGates: [flowControl]
            plugins:
            - type: queue-scorer
            - type: max-score-picker
            - name: fair
              type: program-aware-fairness
            flowControl:
              defaultPriorityBand:
                fairnessPolicyRef: fair
            """;
        await using var a = await StartReplicaAsync("--config-text", config);
        await using var b = await StartReplicaAsync("--config-text", config);
        await ConnectedAsync(a, b);
        Assert.Contains("fairness usage: fair", a.Process.Output, StringComparison.Ordinal);
        Assert.Contains("runtime_replica_state_remote_fairness_flows 0", await MetricsAsync(b), StringComparison.Ordinal);

        // A request of program "batch" completes through A with its token usage; B never saw it.
        using var clientA = new EnvoyExtProcClient(a.ExtProcAddress);
        var request = new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(headers: [.. ExtProcMessages.DefaultRequestHeaders, new("x-llm-d-inference-fairness-id", "batch")]),
            BodyChunks = [LongPrompt(7)],
        };
        var response = new FullDuplexPhase
        {
            Headers = ExtProcMessages.ResponseHeaders(),
            BodyChunks = [Encoding.UTF8.GetBytes("""{"choices":[],"usage":{"prompt_tokens":2000,"completion_tokens":500,"total_tokens":2500}}""")],
        };
        (await clientA.RunFullDuplexAsync(request, response, timeout: s_timeout)).EnsureValid();

        await EventuallyAsync(async () => (await MetricsAsync(b)).Contains("runtime_replica_state_remote_fairness_flows 1", StringComparison.Ordinal), "B counts the usage of A's program");
        Assert.Contains("runtime_replica_state_remote_fairness_flows 0", await MetricsAsync(a), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReplicaStateWithLeaderElection_RefusesToStart_InOneLine()
    {
        await using var process = RuntimeProcess.Start(Binary, ["serve", "--endpoints", "127.0.0.1:8000", "--replica-state", _redis.Url, "--ha-enable-leader-election"]);
        Assert.NotEqual(0, await process.WaitForExitAsync(s_timeout));
        Assert.Contains("--replica-state and --ha-enable-leader-election are alternatives (active-active or active-passive): use one", process.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("redis://:hunter2@127.0.0.1:6379", "do not put the password in the URL")]
    [InlineData("memcached://127.0.0.1:11211", "is not a redis://HOST:PORT[/DB]")]
    public async Task BadReplicaStateUrl_RefusesToStart(string url, string expected)
    {
        await using var process = RuntimeProcess.Start(Binary, ["serve", "--endpoints", "127.0.0.1:8000", "--replica-state", url]);
        Assert.NotEqual(0, await process.WaitForExitAsync(s_timeout));
        Assert.Contains(expected, process.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", process.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PasswordFromTheEnvironment_Authenticates()
    {
        await _redis.DisposeAsync();
        _redis = await RedisServer.StartAsync("--requirepass", "env-pa55");
        await using var a = await BinaryRuntimeServer.StartFromEnvironmentAsync(
            "serve",
            ["--endpoints", _farm.Servers[0].Address, "--replica-state", _redis.Url],
            new Dictionary<string, string?> { ["RUNTIME_REPLICA_STATE_PASSWORD"] = "env-pa55" });
        await ConnectedAsync(a);
        Assert.DoesNotContain("env-pa55", a.Process.Output, StringComparison.Ordinal);
    }

    private static string Binary => Environment.GetEnvironmentVariable(BinaryRuntimeServer.BinaryVariable)
        ?? throw new InvalidOperationException($"{BinaryRuntimeServer.BinaryVariable} is not set; publish the binary first.");

    /// <summary>A prompt of about 2,000 tokens, distinct per seed.</summary>
    private static byte[] LongPrompt(int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        while (text.Length < 8000)
        {
            text.Append(CultureInfo.InvariantCulture, $"w{random.Next(100_000)} ");
        }

        return Encoding.UTF8.GetBytes($$"""{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"{{text}}"}]}""");
    }

    private static async Task<string> PickAsync(EnvoyExtProcClient client, byte[] body)
    {
        var request = new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [body] };
        var result = (await client.RunFullDuplexAsync(request, timeout: s_timeout)).EnsureValid();
        Assert.Null(result.ImmediateResponse);
        return result.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders
            .Single(h => h.Header.Key == "x-gateway-destination-endpoint").Header.RawValue.ToStringUtf8();
    }

    private static async Task<string> MetricsAsync(BinaryRuntimeServer server)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync(new Uri($"http://127.0.0.1:{server.MetricsPort}/metrics"));
    }

    private static double Counter(string metrics, string name) =>
        metrics.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal)).Select(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)).Sum();

    private static Task ConnectedAsync(params BinaryRuntimeServer[] replicas) =>
        EventuallyAsync(async () =>
        {
            foreach (var replica in replicas)
            {
                replica.EnsureRunning();
                if (!(await MetricsAsync(replica)).Contains("runtime_replica_state_connected 1", StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }, "the replicas connect to Redis");

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting until {what}");
            }

            await Task.Delay(50);
        }
    }
}
