using System.Globalization;
using System.Text;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.TestSupport.Kubernetes;
using ServingStatus = Runtime.Proto.Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// The body-based router's base-model mappings from bbr-managed ConfigMaps on a fake API server,
/// through the AOT binary started as the BBR chart starts it (config/charts/body-based-routing/
/// templates/bbr.yaml@v1.5.0: `--streaming`, `--v 3`, two `--plugin`s, `--tracing=false`; env
/// NAMESPACE; RBAC of templates/rbac.yaml@v1.5.0: configmaps get/list/watch only), and the router
/// `serve` runs beside the picker. The header is observed as Envoy sees it.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class BaseModelConfigMapTests : IAsyncDisposable
{
    private const string Header = "x-gateway-base-model-name";
    private const string Managed = "inference.networking.k8s.io/bbr-managed";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(15);
    private static readonly HashSet<string> s_chartRole = ["configmaps"];

    private static readonly string[] s_chartArgs =
    [
        "--streaming", "--v", "3",
        "--plugin", "body-field-to-header:model-extractor:{\"fieldName\":\"model\",\"headerName\":\"X-Gateway-Model-Name\"}",
        "--plugin", "base-model-to-header:base-model-mapper",
        "--tracing=false",
    ];

    private readonly string _dir = Directory.CreateTempSubdirectory("runtime-bbr-kube-").FullName;

    private static string Binary => Environment.GetEnvironmentVariable(BinaryRuntimeServer.BinaryVariable)
        ?? throw new InvalidOperationException($"{BinaryRuntimeServer.BinaryVariable} is not set; publish the binary first.");

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return ValueTask.CompletedTask;
    }

    private static string ConfigMap(string ns, string name, string baseModel, string adapters, bool managed = true) => $$$"""
        {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"{{{name}}}","namespace":"{{{ns}}}","labels":{"{{{Managed}}}":"{{{(managed ? "true" : "false")}}}"}},
         "data":{"baseModel":"{{{baseModel}}}","adapters":"{{{adapters}}}"}}
        """;

    private string Kubeconfig(Uri server, string token = "bbr-token")
    {
        var path = Path.Combine(_dir, $"kubeconfig-{Guid.NewGuid():N}");
        File.WriteAllText(path, $$$"""
            apiVersion: v1
            kind: Config
            current-context: fake
            contexts: [{name: fake, context: {cluster: fake, user: fake}}]
            clusters: [{name: fake, cluster: {server: "{{{server.ToString().TrimEnd('/')}}}"}}]
            users: [{name: fake, user: {token: {{{token}}}}}]
            """);
        return path;
    }

    /// <summary>The binary with the chart's args, as the runtime-bbr image runs them (RUNTIME_ROLE=bbr), finding the API through $KUBECONFIG.</summary>
    private static async Task<(RuntimeProcess Process, int Grpc, int Health)> StartChartBbrAsync(string kubeconfig, string? @namespace)
    {
        int grpc = TestPorts.GetFreeTcpPort(), health = TestPorts.GetFreeTcpPort(), metrics = TestPorts.GetFreeTcpPort();
        var process = RuntimeProcess.Start(
            Binary,
            [.. s_chartArgs, "--grpc-port", Invariant(grpc), "--grpc-health-port", Invariant(health), "--metrics-port", Invariant(metrics), "--secure-serving=false", "--bind-address", "127.0.0.1"],
            new RuntimeProcessOptions
            {
                Environment = new Dictionary<string, string?>
                {
                    ["RUNTIME_ROLE"] = "bbr",
                    ["KUBECONFIG"] = kubeconfig,
                    ["NAMESPACE"] = @namespace,
                    ["KUBERNETES_SERVICE_HOST"] = null,
                },
            });
        await process.WaitForPortsAsync([grpc, health], s_timeout, CancellationToken.None);
        return (process, grpc, health);
    }

    private static async Task<string?> BaseModelHeaderAsync(EnvoyExtProcClient client, string model)
    {
        var body = Encoding.UTF8.GetBytes($$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}""");
        var result = (await client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [body] }, timeout: s_timeout)).EnsureValid();
        return result.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders
            .Where(h => string.Equals(h.Header.Key, Header, StringComparison.OrdinalIgnoreCase))
            .Select(h => h.Header.RawValue.ToStringUtf8())
            .SingleOrDefault();
    }

    /// <summary>Polls until <paramref name="model"/>'s base-model header is <paramref name="expected"/>.</summary>
    private static async Task WaitForBaseModelAsync(EnvoyExtProcClient client, string model, string expected)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        string? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await BaseModelHeaderAsync(client, model);
            if (last == expected)
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"{model}: {Header} stayed \"{last}\", expected \"{expected}\"");
    }

    private static int Occurrences(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    [Fact]
    public async Task BbrChartArgs_ConfigMapsCreatedUpdatedDeleted_HeaderFollows()
    {
        await using var api = await FakeKubeApiServer.StartAsync();
        api.RequiredToken = "bbr-token";
        api.AllowedResources = s_chartRole;
        api.Apply(ConfigMap("ml", "llama-1", "meta-llama/Llama-3.1-8B-Instruct", "- sql-lora\\n"));
        api.Apply(ConfigMap("other", "qwen", "Qwen/Qwen3-8B", "- coder-lora\\n"));
        var (process, grpc, health) = await StartChartBbrAsync(Kubeconfig(api.Url), "ml");
        await using var owned = process;
        using var client = new EnvoyExtProcClient(new Uri($"http://127.0.0.1:{Invariant(grpc)}"));

        // Listed from $NAMESPACE only: the other namespace's ConfigMap maps nothing.
        await WaitForBaseModelAsync(client, "sql-lora", "meta-llama/Llama-3.1-8B-Instruct");
        Assert.Equal(string.Empty, await BaseModelHeaderAsync(client, "coder-lora"));
        Assert.Equal("meta-llama/Llama-3.1-8B-Instruct", await BaseModelHeaderAsync(client, "meta-llama/Llama-3.1-8B-Instruct"));

        // Created: a second ConfigMap for the same base model, with trimmed and empty entries.
        api.Apply(ConfigMap("ml", "llama-2", " meta-llama/Llama-3.1-8B-Instruct ", "- ' food-review '\\n- ''\\n"));
        await WaitForBaseModelAsync(client, "food-review", "meta-llama/Llama-3.1-8B-Instruct");

        // Updated: an adapter moves to another base model, one is added.
        api.Apply(ConfigMap("ml", "llama-1", "meta-llama/Llama-3.1-70B-Instruct", "- sql-lora\\n- tweet-lora\\n"));
        await WaitForBaseModelAsync(client, "sql-lora", "meta-llama/Llama-3.1-70B-Instruct");
        Assert.Equal("meta-llama/Llama-3.1-70B-Instruct", await BaseModelHeaderAsync(client, "tweet-lora"));

        // Deleted: its adapters and its base model go; the other ConfigMap's stay.
        api.Delete("v1", "ConfigMap", "ml", "llama-1");
        await WaitForBaseModelAsync(client, "sql-lora", string.Empty);
        Assert.Equal(string.Empty, await BaseModelHeaderAsync(client, "meta-llama/Llama-3.1-70B-Instruct"));
        Assert.Equal("meta-llama/Llama-3.1-8B-Instruct", await BaseModelHeaderAsync(client, "food-review"));

        // Unlabelled: no longer bbr-managed, so its mappings go as well.
        api.Apply(ConfigMap("ml", "llama-2", "meta-llama/Llama-3.1-8B-Instruct", "- food-review\\n", managed: false));
        await WaitForBaseModelAsync(client, "food-review", string.Empty);
        Assert.Equal(string.Empty, await BaseModelHeaderAsync(client, "meta-llama/Llama-3.1-8B-Instruct"));

        using var healthClient = new GrpcHealthClient(new Uri($"http://127.0.0.1:{Invariant(health)}"));
        Assert.Equal(ServingStatus.Serving, (await healthClient.CheckAsync(string.Empty, s_timeout)).Response?.Status);
        Assert.True(api.WatchRequests("configmaps") >= 1);
        Assert.Contains("watching ConfigMaps labelled inference.networking.k8s.io/bbr-managed=true in namespace ml", process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BbrWithoutNamespaceVariable_WatchesEveryNamespace()
    {
        await using var api = await FakeKubeApiServer.StartAsync();
        api.RequiredToken = "bbr-token";
        api.AllowedResources = s_chartRole;
        api.Apply(ConfigMap("team-a", "llama", "meta-llama/Llama-3.1-8B-Instruct", "- sql-lora\\n"));
        var (process, grpc, _) = await StartChartBbrAsync(Kubeconfig(api.Url), @namespace: null);
        await using var owned = process;
        using var client = new EnvoyExtProcClient(new Uri($"http://127.0.0.1:{Invariant(grpc)}"));

        await WaitForBaseModelAsync(client, "sql-lora", "meta-llama/Llama-3.1-8B-Instruct");
        api.Apply(ConfigMap("team-b", "qwen", "Qwen/Qwen3-8B", "- coder-lora\\n"));
        await WaitForBaseModelAsync(client, "coder-lora", "Qwen/Qwen3-8B");
        Assert.Contains("in all namespaces", process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BbrConfigMapsForbidden_ServesWithEmptyHeaderAndLogsOnce()
    {
        await using var api = await FakeKubeApiServer.StartAsync();
        api.RequiredToken = "bbr-token";
        api.AllowedResources = new HashSet<string>(); // a Role without configmaps
        api.Apply(ConfigMap("ml", "llama", "meta-llama/Llama-3.1-8B-Instruct", "- sql-lora\\n"));
        var (process, grpc, health) = await StartChartBbrAsync(Kubeconfig(api.Url), "ml");
        await using var owned = process;
        using var client = new EnvoyExtProcClient(new Uri($"http://127.0.0.1:{Invariant(grpc)}"));

        await process.WaitForOutputAsync("refuses to list ConfigMap (403 Forbidden)", s_timeout);
        await Task.Delay(1000);

        Assert.Equal(string.Empty, await BaseModelHeaderAsync(client, "sql-lora"));
        Assert.Equal(1, Occurrences(process.Output, "refuses to list ConfigMap (403 Forbidden)"));
        using var healthClient = new GrpcHealthClient(new Uri($"http://127.0.0.1:{Invariant(health)}"));
        Assert.Equal(ServingStatus.Serving, (await healthClient.CheckAsync(string.Empty, s_timeout)).Response?.Status);

        // The Role is widened later: the next re-list (every 30 s) picks the ConfigMaps up; not waited for here.
        Assert.False(process.HasExited);
    }

    [Fact]
    public async Task BbrApiServerUnreachable_ServesWithEmptyHeaderAndLogsOnce()
    {
        var closedPort = TestPorts.GetFreeTcpPort();
        var (process, grpc, _) = await StartChartBbrAsync(Kubeconfig(new Uri($"http://127.0.0.1:{Invariant(closedPort)}")), "ml");
        await using var owned = process;
        using var client = new EnvoyExtProcClient(new Uri($"http://127.0.0.1:{Invariant(grpc)}"));

        await process.WaitForOutputAsync("Syncing ConfigMap failed", s_timeout);
        await Task.Delay(2000); // several retries (back-off from 200 ms)

        Assert.Equal(string.Empty, await BaseModelHeaderAsync(client, "sql-lora"));
        Assert.Equal(1, Occurrences(process.Output, "Syncing ConfigMap failed"));
        Assert.False(process.HasExited);
    }

    [Fact]
    public async Task BbrHelp_SaysWhereTheMappingsComeFrom()
    {
        await using var process = RuntimeProcess.Start(Binary, ["bbr", "--help"]);

        Assert.Equal(0, await process.WaitForExitAsync(s_timeout));
        Assert.Contains("  --kubeconfig value", process.Output, StringComparison.Ordinal);
        Assert.Contains("Base-model mappings (base-model-to-header): from ConfigMaps labelled", process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BbrExplicitKubeconfigUnreadable_RefusesToStart()
    {
        await using var process = RuntimeProcess.Start(Binary, ["bbr", "--kubeconfig", Path.Combine(_dir, "missing"), "--grpc-port", Invariant(TestPorts.GetFreeTcpPort())]);

        Assert.Equal(1, await process.WaitForExitAsync(s_timeout));
        Assert.Contains("error: cannot reach the Kubernetes API: ", process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BbrOutsideAClusterWithoutMappings_EveryHeaderEmptyAndSaysSo()
    {
        int grpc = TestPorts.GetFreeTcpPort(), health = TestPorts.GetFreeTcpPort();
        await using var process = RuntimeProcess.Start(
            Binary,
            ["bbr", "--streaming", "--grpc-port", Invariant(grpc), "--grpc-health-port", Invariant(health), "--metrics-port", Invariant(TestPorts.GetFreeTcpPort()), "--secure-serving=false", "--bind-address", "127.0.0.1"],
            new RuntimeProcessOptions { Environment = new Dictionary<string, string?> { ["KUBECONFIG"] = null, ["KUBERNETES_SERVICE_HOST"] = null } });
        await process.WaitForPortsAsync([grpc, health], s_timeout, CancellationToken.None);
        using var client = new EnvoyExtProcClient(new Uri($"http://127.0.0.1:{Invariant(grpc)}"));

        Assert.Equal(string.Empty, await BaseModelHeaderAsync(client, "sql-lora"));
        Assert.Contains("Base-model mappings: none (not in a cluster", process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServeInProcessRouter_ConfigMapsOfThePoolNamespace_HeaderFollows()
    {
        await using var api = await FakeKubeApiServer.StartAsync();
        api.RequiredToken = "bbr-token";
        api.Apply("""
            {"apiVersion":"inference.networking.k8s.io/v1","kind":"InferencePool","metadata":{"name":"sims","namespace":"ml"},
             "spec":{"selector":{"matchLabels":{"app":"sim"}},"targetPorts":[{"number":8000}]}}
            """);
        api.Apply(ConfigMap("ml", "llama", "meta-llama/Llama-3.1-8B-Instruct", "- sql-lora\\n"));
        int bbr = TestPorts.GetFreeTcpPort(), bbrHealth = TestPorts.GetFreeTcpPort();
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve",
            ["--kubeconfig", Kubeconfig(api.Url), "--pool-name", "sims", "--pool-namespace", "ml", "--bbr-grpc-port", Invariant(bbr), "--bbr-grpc-health-port", Invariant(bbrHealth)]);
        await server.Process.WaitForPortAsync(bbr, s_timeout);
        using var client = new EnvoyExtProcClient(new Uri($"http://127.0.0.1:{Invariant(bbr)}"));

        await WaitForBaseModelAsync(client, "sql-lora", "meta-llama/Llama-3.1-8B-Instruct");
        api.Apply(ConfigMap("ml", "llama", "meta-llama/Llama-3.1-8B-Instruct", "- food-review\\n"));
        await WaitForBaseModelAsync(client, "food-review", "meta-llama/Llama-3.1-8B-Instruct");
        Assert.Equal(string.Empty, await BaseModelHeaderAsync(client, "sql-lora"));
        api.Delete("v1", "ConfigMap", "ml", "llama");
        await WaitForBaseModelAsync(client, "food-review", string.Empty);
        server.EnsureRunning();
    }
}
