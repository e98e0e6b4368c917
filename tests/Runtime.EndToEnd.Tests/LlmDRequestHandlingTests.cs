using System.Text;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Proto.Envoy.Service.ExtProc.V3;
using Runtime.Simulation;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// An llm-d configuration (apiVersion <c>llm-d.ai/v1alpha1</c>) through the AOT binary: its parsers are
/// chosen per request by path (Anthropic's <c>/v1/messages</c> among them, unclaimed paths forwarded
/// unread), and flow-control refusals carry llm-d's status and <c>x-llm-d-request-dropped-reason</c>
/// header; the same requests under a GIE configuration keep GIE v1.5.0's behaviour.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class LlmDRequestHandlingTests : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    private const string LlmDConfig = """
        apiVersion: llm-d.ai/v1alpha1
        kind: EndpointPickerConfig
        plugins:
        - type: queue-scorer
        - type: max-score-picker
        """;

    private const string GieConfig = """
        apiVersion: inference.networking.x-k8s.io/v1alpha1
        kind: EndpointPickerConfig
        plugins:
        - type: queue-scorer
        - type: max-score-picker
        """;

    private SimulatorFarm _farm = null!;

    public async Task InitializeAsync() => _farm = await SimulatorFarm.StartAsync(2, new SimulatorOptions());

    public async Task DisposeAsync() => await _farm.DisposeAsync();

    private Task<BinaryRuntimeServer> StartPickerAsync(string config) =>
        BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--endpoints", string.Join(",", _farm.Servers.Select(s => s.Address)), "--config-text", config]);

    private static async Task<FullDuplexResult> SendAsync(EnvoyExtProcClient client, string path, string body) =>
        await client.RunFullDuplexAsync(
            new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(path: path), BodyChunks = [Encoding.UTF8.GetBytes(body)] },
            timeout: s_timeout);

    private static string? DestinationOf(FullDuplexResult result) =>
        result.Request.HeadersResponse?.RequestHeaders.Response.HeaderMutation.SetHeaders
            .SingleOrDefault(h => h.Header.Key == "x-gateway-destination-endpoint")?.Header.RawValue.ToStringUtf8();

    private static string ImmediateHeader(ImmediateResponse response, string name) =>
        response.Headers?.SetHeaders.SingleOrDefault(h => h.Header.Key == name)?.Header.RawValue.ToStringUtf8() ?? string.Empty;

    [Fact]
    public async Task AnthropicMessages_LlmDConfig_RoutedWithTheBodyUnchanged()
    {
        await using var server = await StartPickerAsync(LlmDConfig);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        const string body = """{"model":"claude-sonnet","max_tokens":256,"system":"You answer in one line.","messages":[{"role":"user","content":[{"type":"text","text":"Which port does the picker use?"}]}],"stream":true}""";

        var result = (await SendAsync(client, "/v1/messages", body)).EnsureValid();

        Assert.Null(result.ImmediateResponse);
        Assert.Contains(DestinationOf(result), _farm.Servers.Select(s => s.Address));
        Assert.Equal(body, Encoding.UTF8.GetString(result.Request.StreamedBody));
    }

    [Fact]
    public async Task AnthropicMessages_WithoutMessages_400WithLlmDsText()
    {
        await using var server = await StartPickerAsync(LlmDConfig);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);

        var result = await SendAsync(client, "/v1/messages", """{"model":"claude-sonnet","max_tokens":16,"messages":[]}""");

        Assert.NotNull(result.ImmediateResponse);
        Assert.Equal(400, (int)result.ImmediateResponse.Status.Code);
        Assert.Equal("inference error: BadRequest - invalid messages request: must have at least one message", result.ImmediateResponse.Body);
    }

    [Fact]
    public async Task UnclaimedPath_LlmDForwardsUnread_GieAnswers400()
    {
        const string body = """{"query":"which document?","documents":["a","b"]}""";
        await using (var llmD = await StartPickerAsync(LlmDConfig))
        {
            using var client = new EnvoyExtProcClient(llmD.ExtProcAddress);
            var forwarded = (await SendAsync(client, "/v1/rerank", body)).EnsureValid();

            Assert.Null(forwarded.ImmediateResponse);
            Assert.NotNull(DestinationOf(forwarded));
            Assert.Equal(body, Encoding.UTF8.GetString(forwarded.Request.StreamedBody));
        }

        await using var gie = await StartPickerAsync(GieConfig);
        using var gieClient = new EnvoyExtProcClient(gie.ExtProcAddress);
        var refused = await SendAsync(gieClient, "/v1/rerank", body);

        Assert.NotNull(refused.ImmediateResponse);
        Assert.Equal(400, (int)refused.ImmediateResponse.Status.Code);
    }

    [Fact]
    public async Task FlowControlTtlExpiry_LlmD429WithDroppedReason_Gie503WithoutIt()
    {
        foreach (var sim in _farm.Servers)
        {
            sim.Overrides = new MetricsOverrides { Waiting = 50 };
        }

        const string flowControl = """
            featureGates: [flowControl]
            flowControl:
              defaultRequestTTL: 300ms
            """;
        const string chat = """{"model":"m","messages":[{"role":"user","content":"queued"}]}""";
        await using (var llmD = await StartPickerAsync(LlmDConfig + "\n" + flowControl))
        {
            await _farm.WaitForScrapesAsync(2, TimeSpan.FromSeconds(20));
            using var client = new EnvoyExtProcClient(llmD.ExtProcAddress);
            var result = await SendAsync(client, "/v1/chat/completions", chat);

            Assert.NotNull(result.ImmediateResponse);
            Assert.Equal(429, (int)result.ImmediateResponse.Status.Code);
            Assert.Equal("rejected-ttl-expired", ImmediateHeader(result.ImmediateResponse, "x-llm-d-request-dropped-reason"));
        }

        await using var gie = await StartPickerAsync(GieConfig + "\n" + flowControl);
        await _farm.WaitForScrapesAsync(2, TimeSpan.FromSeconds(20));
        using var gieClient = new EnvoyExtProcClient(gie.ExtProcAddress);
        var gieResult = await SendAsync(gieClient, "/v1/chat/completions", chat);

        Assert.NotNull(gieResult.ImmediateResponse);
        Assert.Equal(503, (int)gieResult.ImmediateResponse.Status.Code);
        Assert.Equal(string.Empty, ImmediateHeader(gieResult.ImmediateResponse, "x-llm-d-request-dropped-reason"));
    }
}
