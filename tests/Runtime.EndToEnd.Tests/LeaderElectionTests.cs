using System.Diagnostics;
using System.Globalization;
using System.Text;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Simulation;
using Runtime.TestSupport.Kubernetes;
using ServingStatus = Runtime.Proto.Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// <c>--ha-enable-leader-election</c> through the AOT binary: replicas of one pool against the fake
/// API server compete for the Go picker's Lease. Never more than one is ready; a standby is live,
/// keeps picking (its world and metrics are warm), and takes over when the leader is killed
/// (within the 15 s lease duration of the last renewal it saw, plus a retry) or shuts down (at
/// once: the Lease is released).
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class LeaderElectionTests : IAsyncLifetime
{
    private const string LeaseName = "epp-ml-sims.gateway-api-inference-extension.sigs.k8s.io";
    private const string ExtProcService = "envoy.service.ext_proc.v3.ExternalProcessor";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    private readonly string _dir = Directory.CreateTempSubdirectory("runtime-leader-").FullName;
    private SimulatorFarm _farm = null!;
    private FakeKubeApiServer _api = null!;

    public async Task InitializeAsync()
    {
        _farm = await SimulatorFarm.StartAsync(2, new SimulatorOptions());
        _api = await FakeCluster.StartWithPoolAsync(_farm);
        _api.AllowedResources = new HashSet<string>(FakeCluster.ChartRole.Concat(FakeCluster.LeaderElectionRole), StringComparer.Ordinal);
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _farm.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task TwoReplicas_OneReady_KilledLeaderReplacedWithinTheLeaseDuration_ShutdownHandsOverAtOnce()
    {
        await using var a = await StartReplicaAsync();
        await using var b = await StartReplicaAsync();
        using var healthA = new GrpcHealthClient(a.HealthAddress);
        using var healthB = new GrpcHealthClient(b.HealthAddress);

        var (leader, standby) = await WaitForOneReadyAsync((a, healthA), (b, healthB));

        // For a while: exactly one ready; the standby is live and answers not ready on every readiness name.
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(3))
        {
            Assert.Equal(ServingStatus.Serving, await StatusAsync(leader.Health, "readiness"));
            Assert.Equal(ServingStatus.NotServing, await StatusAsync(standby.Health, "readiness"));
            await Task.Delay(100);
        }

        Assert.Equal(ServingStatus.Serving, await StatusAsync(standby.Health, "liveness"));
        Assert.Equal(ServingStatus.NotServing, await StatusAsync(standby.Health, string.Empty));
        Assert.Equal(ServingStatus.NotServing, await StatusAsync(standby.Health, ExtProcService));
        Assert.Equal(ServingStatus.Serving, await StatusAsync(leader.Health, ExtProcService));
        Assert.Contains("leader_election_master_status{name=\"" + LeaseName + "\"} 1\n", await MetricsAsync(leader.Server), StringComparison.Ordinal);
        Assert.Contains("leader_election_master_status{name=\"" + LeaseName + "\"} 0\n", await MetricsAsync(standby.Server), StringComparison.Ordinal);
        Assert.Equal(_api.LeaseHolder("ml", LeaseName)!.Split('_')[0], Environment.MachineName);

        // The standby's world is warm: it picks a pool endpoint, should traffic reach it anyway.
        using (var client = new EnvoyExtProcClient(standby.Server.ExtProcAddress))
        {
            Assert.Contains(await PickAsync(client), _farm.Servers.Select(s => s.Address));
        }

        // Kill -9: no release. The standby takes over once the Lease has gone unrenewed for its duration.
        using (var process = Process.GetProcessById(leader.Server.Process.Id))
        {
            process.Kill();
        }

        var killed = Stopwatch.StartNew();
        await WaitForStatusAsync(standby.Health, "readiness", ServingStatus.Serving, TimeSpan.FromSeconds(25), standby.Server);
        var takeover = killed.Elapsed;
        Assert.True(takeover <= TimeSpan.FromSeconds(15) + TimeSpan.FromSeconds(2 * 2.4), $"took over {takeover.TotalSeconds:0.0} s after the kill");

        // A new replica stands by; SIGTERM on the leader releases the Lease and the new one is ready at once.
        await using var c = await StartReplicaAsync();
        using var healthC = new GrpcHealthClient(c.HealthAddress);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(ServingStatus.NotServing, await StatusAsync(healthC, "readiness"));
        standby.Server.Process.SendSigterm();
        var terminated = Stopwatch.StartNew();
        await WaitForStatusAsync(healthC, "readiness", ServingStatus.Serving, s_timeout, c);
        Assert.True(terminated.Elapsed < TimeSpan.FromSeconds(4), $"took over {terminated.Elapsed.TotalSeconds:0.0} s after SIGTERM");
        await standby.Server.Process.WaitForOutputAsync("released the lease", s_timeout);
    }

    [Fact]
    public async Task RoleWithoutLeases_NeverReady_ButLive()
    {
        _api.AllowedResources = FakeCluster.ChartRole;
        await using var a = await StartReplicaAsync();
        using var health = new GrpcHealthClient(a.HealthAddress);

        await a.Process.WaitForOutputAsync("leases", s_timeout);
        await Task.Delay(TimeSpan.FromSeconds(1));

        Assert.Equal(ServingStatus.NotServing, await StatusAsync(health, "readiness"));
        Assert.Equal(ServingStatus.Serving, await StatusAsync(health, "liveness"));
        Assert.Contains("forbidden", a.Process.Output, StringComparison.Ordinal);
    }

    private Task<BinaryRuntimeServer> StartReplicaAsync() =>
        BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--pool-name", "sims", "--pool-namespace", "ml", "--kubeconfig", FakeCluster.WriteKubeconfig(_api, _dir), "--ha-enable-leader-election", "--shutdown-grace-period", "1s", "--metrics-endpoint-auth=false"]);

    private static async Task<((BinaryRuntimeServer Server, GrpcHealthClient Health) Leader, (BinaryRuntimeServer Server, GrpcHealthClient Health) Standby)> WaitForOneReadyAsync(
        (BinaryRuntimeServer Server, GrpcHealthClient Health) a, (BinaryRuntimeServer Server, GrpcHealthClient Health) b)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            var readyA = await StatusAsync(a.Health, "readiness") == ServingStatus.Serving;
            var readyB = await StatusAsync(b.Health, "readiness") == ServingStatus.Serving;
            Assert.False(readyA && readyB, "both replicas are ready");
            if (readyA || readyB)
            {
                return readyA ? (a, b) : (b, a);
            }

            await Task.Delay(50);
        }

        Assert.Fail($"no replica became ready{Environment.NewLine}{a.Server.Diagnostics}{Environment.NewLine}{b.Server.Diagnostics}");
        throw new InvalidOperationException();
    }

    private static async Task<ServingStatus?> StatusAsync(GrpcHealthClient health, string service) =>
        (await health.CheckAsync(service, s_timeout)).Response?.Status;

    private static async Task WaitForStatusAsync(GrpcHealthClient health, string service, ServingStatus expected, TimeSpan timeout, BinaryRuntimeServer server)
    {
        var watch = Stopwatch.StartNew();
        while (await StatusAsync(health, service) != expected)
        {
            Assert.True(watch.Elapsed < timeout, $"\"{service}\" not {expected} within {timeout}{Environment.NewLine}{server.Diagnostics}");
            await Task.Delay(50);
        }
    }

    private static async Task<string> PickAsync(EnvoyExtProcClient client)
    {
        var body = Encoding.UTF8.GetBytes("""{"model":"m","messages":[{"role":"user","content":"standby"}]}""");
        var result = (await client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [body] }, timeout: s_timeout)).EnsureValid();
        Assert.True(result.ImmediateResponse is null, result.Describe());
        return result.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders.Single(h => h.Header.Key == "x-gateway-destination-endpoint").Header.RawValue.ToStringUtf8();
    }

    private static async Task<string> MetricsAsync(BinaryRuntimeServer server)
    {
        using var http = new HttpClient { Timeout = s_timeout };
        return await http.GetStringAsync(new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{server.MetricsPort}/metrics")));
    }
}
