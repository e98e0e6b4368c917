using System.Globalization;
using System.Text;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Proto.Grpc.Health.V1;
using Runtime.Simulation;
using Runtime.TestSupport.Kubernetes;
using ServingStatus = Runtime.Proto.Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// The AOT binary with its control plane: the world comes from a manifests directory (the edge)
/// or from a fake Kubernetes API server speaking the real list/watch protocol, and picks, readiness
/// and reloads are observed from outside, as Envoy and the kubelet see them.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class ControlPlaneTests : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    private readonly string _dir = Directory.CreateTempSubdirectory("runtime-manifests-").FullName;
    private SimulatorFarm _farm = null!;

    public async Task InitializeAsync() => _farm = await SimulatorFarm.StartAsync(3, new SimulatorOptions());

    public async Task DisposeAsync()
    {
        await _farm.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private int Port(int i) => _farm.Servers[i].Port;

    private string PoolYaml => $"""
        apiVersion: inference.networking.k8s.io/v1
        kind: InferencePool
        metadata:
          name: sims
        spec:
          selector:
            matchLabels:
              app: sim
          targetPorts: [{string.Join(", ", Enumerable.Range(0, 3).Select(i => $"{{number: {Port(i)}}}"))}]
        """;

    /// <summary>EndpointList pods on 127.0.0.1, each serving one simulator's port.</summary>
    private string ServersYaml(params int[] simulators) => $"""
        apiVersion: runtime.dev/v1
        kind: EndpointList
        metadata:
          name: sims
        labels:
          app: sim
        pods:
        {string.Concat(simulators.Select(i => $"""
          - name: sim-{i}
            address: 127.0.0.1
            annotations:
              inference.networking.k8s.io/active-ports: "{Port(i)}"

        """))}
        """;

    private void WriteAtomically(string name, string text)
    {
        var temp = Path.Combine(_dir, "." + name + ".tmp");
        File.WriteAllText(temp, text);
        File.Move(temp, Path.Combine(_dir, name), overwrite: true);
    }

    private static byte[] Chat(string prompt) => Encoding.UTF8.GetBytes(
        $$"""{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"{{prompt}}"}]}""");

    private static async Task<string?> TryPickAsync(EnvoyExtProcClient client)
    {
        var phase = new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [Chat(Guid.NewGuid().ToString("N"))] };
        var result = (await client.RunFullDuplexAsync(phase, timeout: s_timeout)).EnsureValid();
        return result.ImmediateResponse is not null
            ? null
            : result.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders.Single(h => h.Header.Key == "x-gateway-destination-endpoint").Header.RawValue.ToStringUtf8();
    }

    /// <summary>Polls picks until the set of endpoints chosen equals <paramref name="expected"/> (within a few picks).</summary>
    private async Task WaitForPicksAsync(EnvoyExtProcClient client, params int[] expected)
    {
        var want = expected.Select(i => _farm.Servers[i].Address).ToHashSet();
        var deadline = DateTime.UtcNow + s_timeout;
        HashSet<string?> seen = [];
        while (DateTime.UtcNow < deadline)
        {
            seen = [];
            for (var i = 0; i < 12; i++)
            {
                seen.Add(await TryPickAsync(client));
            }

            if (seen.SetEquals(want.Cast<string?>()))
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"picks went to [{string.Join(", ", seen)}], expected [{string.Join(", ", want)}]");
    }

    private static async Task WaitForReadinessAsync(BinaryRuntimeServer server, ServingStatus expected)
    {
        using var health = new GrpcHealthClient(server.HealthAddress);
        var deadline = DateTime.UtcNow + s_timeout;
        ServingStatus? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = (await health.CheckAsync("readiness", s_timeout)).Response?.Status;
            if (last == expected)
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"readiness stayed {last}, expected {expected}{Environment.NewLine}{server.Diagnostics}");
    }

    [Fact]
    public async Task Manifests_NotReadyUntilValid_ThenReloadsOnRename_KeepsLastGoodOnInvalid()
    {
        var bbrHealthPort = TestPorts.GetFreeTcpPort();
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--manifests-dir", _dir, "--pool-name", "sims", "--bbr-grpc-health-port", bbrHealthPort.ToString(CultureInfo.InvariantCulture)]);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        using var health = new GrpcHealthClient(server.HealthAddress);
        using var bbrHealth = new GrpcHealthClient(new Uri($"http://127.0.0.1:{bbrHealthPort}"));

        // An empty directory: the pool has not synced. Without leader election the picker answers
        // every name alike (GIE v1.5.0): NOT_SERVING, liveness and the Helm chart's probe name
        // "inference-extension" included; the body-based router beside it does not wait for the pool.
        await WaitForReadinessAsync(server, ServingStatus.NotServing);
        Assert.Equal(ServingStatus.NotServing, (await health.CheckAsync("liveness", s_timeout)).Response?.Status);
        Assert.Equal(ServingStatus.NotServing, (await health.CheckAsync("inference-extension", s_timeout)).Response?.Status);
        Assert.Equal(ServingStatus.Serving, (await bbrHealth.CheckAsync("readiness", s_timeout)).Response?.Status);

        WriteAtomically("pool.yaml", PoolYaml);
        WriteAtomically("servers.yaml", ServersYaml(0, 1, 2));
        await WaitForReadinessAsync(server, ServingStatus.Serving);
        Assert.Equal(ServingStatus.Serving, (await health.CheckAsync("inference-extension", s_timeout)).Response?.Status);
        Assert.Equal(ServingStatus.Serving, (await health.CheckAsync("liveness", s_timeout)).Response?.Status);
        await WaitForPicksAsync(client, 0, 1, 2);

        // An atomic rename to a set with one server left: only it is picked.
        WriteAtomically("servers.yaml", ServersYaml(1));
        await WaitForPicksAsync(client, 1);

        // A broken set (a malformed objective) changes nothing; the process keeps serving.
        WriteAtomically("objective.yaml", """
            apiVersion: inference.networking.x-k8s.io/v1alpha2
            kind: InferenceObjective
            metadata: {name: typo}
            spec: {priority: high, poolRef: {name: sims}}
            """);
        WriteAtomically("servers.yaml", ServersYaml(0, 2));
        await Task.Delay(500);
        await WaitForPicksAsync(client, 1);
        Assert.Contains("priority must be an integer", server.Process.Output, StringComparison.Ordinal);

        // Fixing it publishes the whole pending set; an objective naming a pool that is not there is
        // ignored with a warning (as Kubernetes and the Go endpoint picker do), not a broken set.
        WriteAtomically("objective.yaml", """
            apiVersion: inference.networking.x-k8s.io/v1alpha2
            kind: InferenceObjective
            metadata: {name: orphan}
            spec: {priority: 3, poolRef: {name: no-such-pool}}
            """);
        await WaitForPicksAsync(client, 0, 2);
        Assert.Contains("no-such-pool", server.Process.Output, StringComparison.Ordinal);
        server.EnsureRunning();
    }

    [Fact]
    public async Task Kubernetes_PodChurnThroughWatch_AndWatchExpiryLosesNoUpdate()
    {
        await using var api = await StartApiWithPoolAsync();
        var kubeconfig = Kubeconfig(api);
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--kubeconfig", kubeconfig, "--pool-name", "sims", "--pool-namespace", "ml"]);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await WaitForReadinessAsync(server, ServingStatus.Serving);
        await WaitForPicksAsync(client, 0, 1, 2);

        // A pod turns unready and another is deleted: the watch carries both.
        api.Apply(PodJson(0, ready: false));
        api.Delete("v1", "Pod", "ml", "sim-2");
        await WaitForPicksAsync(client, 1);

        // The watch expires while a pod comes back: the re-list after 410 still finds it.
        await api.WaitForWatchesAsync(5, s_timeout);
        api.Compact();
        api.DropWatches();
        api.Apply(PodJson(2, ready: true));
        api.Compact();
        await WaitForPicksAsync(client, 1, 2);

        // The pool goes away: not ready, no endpoint to pick.
        api.Delete("inference.networking.k8s.io/v1", "InferencePool", "ml", "sims");
        await WaitForReadinessAsync(server, ServingStatus.NotServing);
        Assert.Null(await TryPickAsync(client));
        server.EnsureRunning();
    }

    [Fact]
    public async Task Kubernetes_ObjectiveBands_ConvergeAndADeletedObjectivesBandDrainsThenGoes()
    {
        await using var api = await StartApiWithPoolAsync();
        api.Apply(ObjectiveJson("batch", 7));
        // Scraped without a token, as the chart renders it with prometheus auth disabled.
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--kubeconfig", Kubeconfig(api), "--pool-name", "sims", "--pool-namespace", "ml", "--metrics-endpoint-auth=false", "--config-text", """
            apiVersion: inference.networking.x-k8s.io/v1alpha1
            kind: EndpointPickerConfig
            featureGates: [flowControl]
            flowControl:
              defaultRequestTTL: 20s
            """]);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        using var http = new HttpClient();
        await WaitForReadinessAsync(server, ServingStatus.Serving);
        await WaitForMetricAsync(http, server, "runtime_flow_control_band_requests{priority=\"7\"} 0");

        // A second objective adds its band; the pool saturates and a "batch" request queues in band 7.
        api.Apply(ObjectiveJson("premium", 10));
        await WaitForMetricAsync(http, server, "runtime_flow_control_band_requests{priority=\"10\"} 0");
        foreach (var sim in _farm.Servers)
        {
            sim.Overrides = new MetricsOverrides { Waiting = 50 };
        }

        await _farm.WaitForScrapesAsync(3, s_timeout);
        var phase = new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(headers: [.. ExtProcMessages.DefaultRequestHeaders, new("x-gateway-inference-objective", "batch")]),
            BodyChunks = [Chat("queued while saturated")],
        };
        var queued = client.RunFullDuplexAsync(phase, timeout: TimeSpan.FromSeconds(30));
        await WaitForMetricAsync(http, server, "runtime_flow_control_band_requests{priority=\"7\"} 1");

        // Its objective goes: the band drains (still holding the request), then goes once it dispatches.
        api.Delete("inference.networking.x-k8s.io/v1alpha2", "InferenceObjective", "ml", "batch");
        await Task.Delay(300);
        Assert.Contains("runtime_flow_control_band_requests{priority=\"7\"} 1", await http.GetStringAsync(MetricsUrl(server)), StringComparison.Ordinal);
        Assert.False(queued.IsCompleted);
        foreach (var sim in _farm.Servers)
        {
            sim.Overrides = null;
        }

        var result = (await queued).EnsureValid();
        Assert.Null(result.ImmediateResponse);
        await WaitForMetricAsync(http, server, "runtime_flow_control_band_requests{priority=\"7\"}", present: false);
        Assert.Contains("runtime_flow_control_band_requests{priority=\"10\"} 0", await http.GetStringAsync(MetricsUrl(server)), StringComparison.Ordinal);
        server.EnsureRunning();
    }

    private static Uri MetricsUrl(BinaryRuntimeServer server) => new($"http://127.0.0.1:{server.MetricsPort}/metrics");

    private static async Task WaitForMetricAsync(HttpClient http, BinaryRuntimeServer server, string line, bool present = true)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        var page = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            page = await http.GetStringAsync(MetricsUrl(server));
            if (page.Contains(line, StringComparison.Ordinal) == present)
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"/metrics {(present ? "never showed" : "still shows")} \"{line}\":{Environment.NewLine}{page}");
    }

    private static string ObjectiveJson(string name, int priority) => $$$"""
        {"apiVersion":"inference.networking.x-k8s.io/v1alpha2","kind":"InferenceObjective","metadata":{"name":"{{{name}}}","namespace":"ml"},
         "spec":{"priority":{{{priority}}},"poolRef":{"name":"sims"} } }
        """;

    [Theory]
    [InlineData("--pool-name=p", "--kubeconfig=/no/such/kubeconfig", "cannot reach the Kubernetes API")]
    [InlineData("--endpoint-selector=app", "--endpoint-target-ports=8000", "--endpoint-selector: selector entry")]
    public async Task BadControlPlaneFlags_RefuseToStartWithTheReason(string first, string second, string expected)
    {
        var binary = Environment.GetEnvironmentVariable(BinaryRuntimeServer.BinaryVariable)
            ?? throw new InvalidOperationException($"{BinaryRuntimeServer.BinaryVariable} is not set; publish the binary first.");
        await using var process = RuntimeProcess.Start(binary, ["serve", "--grpc-port=0", first, second]);

        Assert.Equal(1, await process.WaitForExitAsync(s_timeout));
        Assert.Contains(expected, process.Output, StringComparison.Ordinal);
    }

    private Task<FakeKubeApiServer> StartApiWithPoolAsync() => FakeCluster.StartWithPoolAsync(_farm);

    private string Kubeconfig(FakeKubeApiServer api) => FakeCluster.WriteKubeconfig(api, _dir);

    private string PodJson(int i, bool ready) => FakeCluster.PodJson(i, Port(i), ready);
}
