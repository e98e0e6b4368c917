using System.Text;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Simulation;
using Runtime.TestSupport.ModelServers;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// llm-d v0.10's session affinity and DCGM-driven endpoint attributes through the AOT binary: the
/// response carries <c>x-session-token</c> naming the endpoint that served, and a request echoing it
/// lands on that endpoint again; a DCGM exporter's GPU utilisation, scraped by
/// <c>dcgm-data-source</c>/<c>dcgm-extractor</c>, decides what <c>endpoint-attribute-filter</c> keeps.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class LlmDPluginTests : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    private const string SessionConfig = """
        apiVersion: llm-d.ai/v1alpha1
        kind: EndpointPickerConfig
        plugins:
        - type: session-affinity-scorer
        - type: max-score-picker
        schedulingProfiles:
        - name: default
          plugins:
          - pluginRef: session-affinity-scorer
            weight: 10
          - pluginRef: max-score-picker
        """;

    private SimulatorFarm _farm = null!;

    public async Task InitializeAsync() => _farm = await SimulatorFarm.StartAsync(4, new SimulatorOptions());

    public async Task DisposeAsync() => await _farm.DisposeAsync();

    private static byte[] Chat(string content) => Encoding.UTF8.GetBytes($$"""{"model":"m","messages":[{"role":"user","content":"{{content}}"}]}""");

    private static string Destination(FullDuplexResult result) =>
        result.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders.Single(h => h.Header.Key == "x-gateway-destination-endpoint").Header.RawValue.ToStringUtf8();

    private static async Task<FullDuplexResult> ExchangeAsync(EnvoyExtProcClient client, string content, string? token = null)
    {
        var headers = token is null ? ExtProcMessages.DefaultRequestHeaders : [.. ExtProcMessages.DefaultRequestHeaders, new("x-session-token", token)];
        var request = new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(headers: headers), BodyChunks = [Chat(content)] };
        var response = new FullDuplexPhase { Headers = ExtProcMessages.ResponseHeaders(), BodyChunks = [Encoding.UTF8.GetBytes("""{"choices":[]}""")] };
        return (await client.RunFullDuplexAsync(request, response, timeout: s_timeout)).EnsureValid();
    }

    [Fact]
    public async Task SessionAffinity_TheReturnedTokenPinsLaterRequestsToTheSameEndpoint()
    {
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve",
            ["--allow-experimental-plugins", "--endpoints", string.Join(",", _farm.Servers.Select(s => s.Address)), "--config-text", SessionConfig]);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);

        var first = await ExchangeAsync(client, "hello");
        var served = Destination(first);
        var token = first.Response!.HeadersResponse!.ResponseHeaders.Response.HeaderMutation.SetHeaders.Single(h => h.Header.Key == "x-session-token").Header.RawValue.ToStringUtf8();
        Assert.Equal(served, Encoding.UTF8.GetString(Convert.FromBase64String(token)));

        // Without the token every endpoint scores 0 and the picker's random tie-break spreads requests.
        var pinned = new HashSet<string>();
        var unpinned = new HashSet<string>();
        for (var i = 0; i < 12; i++)
        {
            pinned.Add(Destination(await ExchangeAsync(client, $"turn {i}", token)));
            unpinned.Add(Destination(await ExchangeAsync(client, $"other {i}")));
        }

        Assert.Equal([served], pinned);
        Assert.True(unpinned.Count > 1, $"unpinned requests all went to {string.Join(", ", unpinned)}");
    }

    [Fact]
    public async Task Dcgm_BusyGpusAreFilteredOut_UntilTheExporterReportsThemIdle()
    {
        await using var exporter = await FakeMetricsServer.StartAsync(1, _ => Page(95));
        var config = $$"""
            apiVersion: llm-d.ai/v1alpha1
            kind: EndpointPickerConfig
            plugins:
            - type: dcgm-data-source
              name: dcgm-source
              parameters:
                port: {{exporter.Servers[0].Port}}
                interval: 100ms
            - type: dcgm-extractor
            - type: endpoint-attribute-filter
              name: gpu-filter
              parameters:
                attribute: GPUUtilization/dcgm-extractor
                onMissing: Fail
                algorithm:
                  type: threshold
                  threshold: {operator: LessThanOrEqual, value: 0.9}
            - type: endpoint-attribute-scorer
              parameters:
                attributeKey: GPUUtilization/dcgm-extractor
                algorithm: {type: linear_lower_is_better}
            - type: max-score-picker
            dataLayer:
              sources:
              - pluginRef: dcgm-source
                extractors:
                - pluginRef: dcgm-extractor
            schedulingProfiles:
            - name: default
              plugins:
              - pluginRef: gpu-filter
              - pluginRef: endpoint-attribute-scorer
              - pluginRef: max-score-picker
            """;
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve",
            ["--allow-experimental-plugins", "--endpoints", _farm[0].Address, "--config-text", config]);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await WaitForAsync(() => exporter.Servers[0].Requests >= 2);

        // 95 % busy: the only endpoint is filtered out, so the pool cannot take the request (429).
        var busy = (await client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [Chat("busy")] }, timeout: s_timeout)).EnsureValid();
        Assert.Equal(429, (int)busy.ImmediateResponse!.Status.Code);

        exporter.Servers[0].Page = Page(20);
        var seen = exporter.Servers[0].Requests;
        await WaitForAsync(() => exporter.Servers[0].Requests >= seen + 2);
        var idle = await ExchangeAsync(client, "idle");
        Assert.Equal(_farm[0].Address, Destination(idle));
    }

    private static byte[] Page(int percent) => Encoding.UTF8.GetBytes($$"""
        # HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
        # TYPE DCGM_FI_DEV_GPU_UTIL gauge
        DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-0",device="nvidia0",modelName="NVIDIA L4",Hostname="node"} {{percent}}

        """);

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the DCGM exporter to be scraped");
            await Task.Delay(50);
        }
    }
}
