using System.Text;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Simulation;
using Runtime.TestSupport.Kubernetes;
using ServingStatus = Runtime.Proto.Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// The GIE v1.5.0 inferencepool chart, swapped to our image: the container args its template
/// renders (config/charts/epplib/templates/_deployment.yaml@v1.5.0, see each case), its default
/// EndpointPickerConfig (config/charts/epplib/templates/_config.yaml@v1.5.0, reproduced in
/// Upstream/gie-v1.5.0/helm-default-*.yaml), its Role (rbac.yaml: no ConfigMaps; with replicas &gt; 1
/// also the leader-election Role's leases) enforced by the
/// fake API server, and its probes. The test adds only what a pod gets from its environment:
/// the kubeconfig (in-cluster config), free ports and plain-text serving.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class GieChartTests : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);
    private static readonly string s_upstream = RepositoryPaths.Combine("tests", "Runtime.Configuration.Tests", "Upstream", "gie-v1.5.0");

    private readonly string _dir = Directory.CreateTempSubdirectory("runtime-chart-").FullName;
    private SimulatorFarm _farm = null!;
    private FakeKubeApiServer _api = null!;

    public async Task InitializeAsync()
    {
        _farm = await SimulatorFarm.StartAsync(3, new SimulatorOptions());
        _api = await FakeCluster.StartWithPoolAsync(_farm);
        _api.AllowedResources = FakeCluster.ChartRole;
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _farm.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Rendered args per chart values; the config file is the chart's ConfigMap for that engine.</summary>
    public static TheoryData<string, string[], string[]> ChartRenderings() => new()
    {
        // Defaults: vllm, replicas 1, flags {v: 1}, tracing off, prometheus auth on (no flag). Probes ask "inference-extension".
        { "helm-default-vllm.yaml", ["--pool-name", "sims", "--pool-namespace", "ml", "--pool-group", "inference.networking.k8s.io", "--zap-encoder", "json", "--config-file", "CONFIG", "--v", "1", "--tracing=false"], ["inference-extension"] },

        // replicas: 3 adds --ha-enable-leader-election; the probes then ask "liveness" and "readiness".
        { "helm-default-vllm.yaml", ["--pool-name", "sims", "--pool-namespace", "ml", "--pool-group", "inference.networking.k8s.io", "--zap-encoder", "json", "--config-file", "CONFIG", "--ha-enable-leader-election", "--v", "1", "--tracing=false"], ["liveness", "readiness"] },

        // modelServerType sglang: the deprecated metric flags as single tokens, their quotes part of the value.
        { "helm-default-sglang.yaml", ["--pool-name", "sims", "--pool-namespace", "ml", "--pool-group", "inference.networking.k8s.io", "--total-queued-requests-metric=\"sglang:num_queue_reqs\"", "--total-running-requests-metric=\"sglang:num_running_reqs\"", "--kv-cache-usage-percentage-metric=\"sglang:token_usage\"", "--cache-info-metric=\"sglang:cache_config_info\"", "--zap-encoder", "json", "--config-file", "CONFIG", "--v", "1", "--tracing=false"], ["inference-extension"] },

        // modelServerType triton-tensorrt-llm: flag and value as separate tokens, an empty --lora-info-metric.
        { "helm-default-triton-tensorrt-llm.yaml", ["--pool-name", "sims", "--pool-namespace", "ml", "--pool-group", "inference.networking.k8s.io", "--total-queued-requests-metric", "nv_trt_llm_request_metrics{request_type=waiting}", "--total-running-requests-metric", "nv_trt_llm_request_metrics{request_type=scheduled}", "--kv-cache-usage-percentage-metric", "nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=fraction}", "--lora-info-metric", "", "--zap-encoder", "json", "--config-file", "CONFIG", "--v", "1", "--tracing=false"], ["inference-extension"] },

        // modelServerType trtllm-serve: also a metrics path.
        { "helm-default-trtllm-serve.yaml", ["--pool-name", "sims", "--pool-namespace", "ml", "--pool-group", "inference.networking.k8s.io", "--total-queued-requests-metric=\"trtllm_num_requests_waiting\"", "--total-running-requests-metric=\"trtllm_num_requests_running\"", "--kv-cache-usage-percentage-metric=\"trtllm_kv_cache_utilization\"", "--cache-info-metric=\"trtllm_cache_config_info\"", "--model-server-metrics-path=\"/prometheus/metrics\"", "--lora-info-metric", "", "--zap-encoder", "json", "--config-file", "CONFIG", "--v", "1", "--tracing=false"], ["inference-extension"] },
    };

    [Theory]
    [MemberData(nameof(ChartRenderings))]
    public async Task ChartArgsConfigAndRole_ProbesServing_AndRequestsArePicked(string configFixture, string[] chartArgs, string[] probes)
    {
        var args = chartArgs.Select(a => a == "CONFIG" ? Path.Combine(s_upstream, configFixture) : a).ToList();
        if (args.Contains("--ha-enable-leader-election"))
        {
            // replicas > 1 also renders the leader-election Role: the Lease is what makes this replica ready.
            _api.AllowedResources = new HashSet<string>(FakeCluster.ChartRole.Concat(FakeCluster.LeaderElectionRole), StringComparer.Ordinal);
        }

        args.AddRange(["--kubeconfig", FakeCluster.WriteKubeconfig(_api, _dir)]);
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", args);
        using var health = new GrpcHealthClient(server.HealthAddress);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);

        foreach (var probe in probes)
        {
            await WaitForServingAsync(health, probe, server);
        }

        var body = Encoding.UTF8.GetBytes("""{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"hello chart"}]}""");
        var result = (await client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [body] }, timeout: s_timeout)).EnsureValid();
        Assert.True(result.ImmediateResponse is null, result.Describe());
        var destination = result.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders.Single(h => h.Header.Key == "x-gateway-destination-endpoint").Header.RawValue.ToStringUtf8();
        Assert.Contains(destination, _farm.Servers.Select(s => s.Address));

        server.EnsureRunning();
    }

    private static async Task WaitForServingAsync(GrpcHealthClient health, string service, BinaryRuntimeServer server)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        ServingStatus? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = (await health.CheckAsync(service, s_timeout)).Response?.Status;
            if (last == ServingStatus.Serving)
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"probe \"{service}\" stayed {last}{Environment.NewLine}{server.Diagnostics}");
    }
}
