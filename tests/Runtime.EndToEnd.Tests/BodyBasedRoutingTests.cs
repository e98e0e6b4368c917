using System.Text;
using Runtime.EndToEnd.Tests.Fixtures;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// <c>runtime bbr</c> through the AOT binary with the Envoy-like client: routing headers in both
/// body modes, original bytes upstream, LoRA base-model mapping, bad bodies, SSE pass-through.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class BodyBasedRoutingTests : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private readonly string _mappings = Directory.CreateTempSubdirectory("runtime-bbr-").FullName;
    private BinaryRuntimeServer _server = null!;
    private EnvoyExtProcClient _client = null!;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(Path.Combine(_mappings, "llama.yaml"), """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: llama-adapters
              labels:
                inference.networking.k8s.io/bbr-managed: "true"
            data:
              baseModel: meta-llama/Llama-3.1-8B-Instruct
              adapters: |
                - sql-lora
                - food-review
            """);
        _server = await BinaryRuntimeServer.StartFromEnvironmentAsync("bbr", ["--streaming", "--base-model-mappings-dir", _mappings]);
        _client = new EnvoyExtProcClient(_server.ExtProcAddress);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_mappings, recursive: true);
    }

    private static byte[] ChatBody(string modelJson, int padding = 0) => Encoding.UTF8.GetBytes(
        $$"""{"messages":[{"role":"user","content":"{{new string('x', padding)}}"}],"stream":true,  "model":{{modelJson}}}""");

    private static Dictionary<string, string> SetHeaders(CommonResponse response) =>
        response.HeaderMutation.SetHeaders.ToDictionary(h => h.Header.Key, h => h.Header.RawValue.ToStringUtf8());

    [Theory]
    [InlineData(1)]
    [InlineData(9)]
    public async Task FullDuplex_LoraAdapter_SetsModelAndBaseModelHeadersAndSendsOriginalBytes(int chunks)
    {
        var body = ChatBody("\"sql-lora\"", padding: 150_000);
        var request = new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(),
            BodyChunks = BodyChunks.SplitRandomly(body, chunks, seed: chunks),
        };

        var result = (await _client.RunFullDuplexAsync(request, timeout: s_timeout)).EnsureValid();

        var reply = result.Request.HeadersResponse!.RequestHeaders.Response;
        Assert.True(reply.ClearRouteCache);
        var headers = SetHeaders(reply);
        Assert.Equal("sql-lora", headers["x-gateway-model-name"]);
        Assert.Equal("meta-llama/Llama-3.1-8B-Instruct", headers["x-gateway-base-model-name"]);
        Assert.All(reply.HeaderMutation.SetHeaders, h => Assert.Empty(h.Header.Value));
        Assert.Equal(body, result.Request.StreamedBody);
    }

    [Fact]
    public async Task FullDuplex_UnknownModel_BaseModelHeaderEmpty()
    {
        var request = new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [ChatBody("\"mistral\"")] };

        var result = (await _client.RunFullDuplexAsync(request, timeout: s_timeout)).EnsureValid();

        var headers = SetHeaders(result.Request.HeadersResponse!.RequestHeaders.Response);
        Assert.Equal("mistral", headers["x-gateway-model-name"]);
        Assert.Equal(string.Empty, headers["x-gateway-base-model-name"]);
    }

    [Fact]
    public async Task Buffered_RoutingHeadersRideOnBodyReplyWithClearRouteCache()
    {
        var headersMessage = ExtProcMessages.RequestHeaders(requestBodyMode: BodySendMode.Buffered, responseBodyMode: BodySendMode.Buffered);

        var result = await _client.RunBufferedAsync(headersMessage, ChatBody("\"food-review\""), timeout: s_timeout);

        Assert.True(result.Status.IsOk, result.Status.ToString());
        Assert.Empty(result.RequestHeaders.RequestHeaders.Response?.HeaderMutation?.SetHeaders ?? []);
        var reply = result.RequestBody!.RequestBody.Response;
        Assert.True(reply.ClearRouteCache);
        Assert.Null(reply.BodyMutation);
        var headers = SetHeaders(reply);
        Assert.Equal("food-review", headers["x-gateway-model-name"]);
        Assert.Equal("meta-llama/Llama-3.1-8B-Instruct", headers["x-gateway-base-model-name"]);
    }

    [Theory]
    [InlineData("{\"model\": \"m\"", "failed to parse request body")]
    [InlineData("[1,2,3]", "failed to parse request body")]
    [InlineData("{\"model\": 42}", "model must be a string")]
    public async Task BadBody_400ImmediateResponseAndStreamEndsCleanly(string body, string reason)
    {
        var request = new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [Encoding.UTF8.GetBytes(body)] };

        var result = await _client.RunFullDuplexAsync(request, timeout: s_timeout);

        Assert.NotNull(result.ImmediateResponse);
        Assert.Equal(400, (int)result.ImmediateResponse.Status.Code);
        Assert.StartsWith("inference error: BadRequest - ", result.ImmediateResponse.Body, StringComparison.Ordinal);
        Assert.Contains(reason, result.ImmediateResponse.Body, StringComparison.Ordinal);
        Assert.True(result.Status.IsOk, result.Status.ToString());
        _server.EnsureRunning();
    }

    [Fact]
    public async Task NoModelField_PassesThroughWithoutRoutingHeader()
    {
        var body = "{\"messages\":[]}"u8.ToArray();
        var request = new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [body] };

        var result = (await _client.RunFullDuplexAsync(request, timeout: s_timeout)).EnsureValid();

        Assert.DoesNotContain("x-gateway-model-name", SetHeaders(result.Request.HeadersResponse!.RequestHeaders.Response).Keys);
        Assert.Equal(body, result.Request.StreamedBody);
    }

    [Fact]
    public async Task SseResponse_EachEventEchoedBeforeTheNextIsSent()
    {
        await using var exchange = await _client.StartAsync();
        await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
        await exchange.SendAsync(ExtProcMessages.RequestBody(ChatBody("\"sql-lora\""), endOfStream: true));
        Assert.NotNull((await exchange.ReadRequiredAsync(s_timeout)).RequestHeaders);
        Assert.True((await exchange.ReadRequiredAsync(s_timeout)).RequestBody.Response.BodyMutation.StreamedResponse.EndOfStream);

        await exchange.SendAsync(ExtProcMessages.ResponseHeaders(headers: [new("content-type", "text/event-stream")]));
        Assert.NotNull((await exchange.ReadRequiredAsync(s_timeout)).ResponseHeaders);
        string[] events =
        [
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n",
        ];
        for (var i = 0; i < events.Length; i++)
        {
            var last = i == events.Length - 1;
            await exchange.SendAsync(ExtProcMessages.ResponseBody(Encoding.UTF8.GetBytes(events[i]), endOfStream: last));
            // The echo must come back while the next event has not been sent yet.
            var echo = await exchange.ReadRequiredAsync(s_timeout);
            var streamed = echo.ResponseBody.Response.BodyMutation.StreamedResponse;
            Assert.Equal(events[i], streamed.Body.ToStringUtf8());
            Assert.Equal(last, streamed.EndOfStream);
        }

        await exchange.CompleteAsync();
        Assert.True((await exchange.GetStatusAsync(s_timeout)).IsOk);
    }

    [Fact]
    public async Task PluginFlag_CustomFieldAndHeader()
    {
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync(
            "bbr", ["--streaming", "--plugin", "body-field-to-header:tenant:{\"field_name\":\"user\",\"header_name\":\"X-Tenant\"}"]);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        var request = new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(),
            BodyChunks = ["{\"model\":\"m\",\"user\":\"team-a\"}"u8.ToArray()],
        };

        var result = (await client.RunFullDuplexAsync(request, timeout: s_timeout)).EnsureValid();

        var headers = SetHeaders(result.Request.HeadersResponse!.RequestHeaders.Response);
        Assert.Equal("team-a", headers["x-tenant"]);
        Assert.DoesNotContain("x-gateway-model-name", headers.Keys);
    }

    [Fact]
    public async Task PluginFlag_UnknownType_RefusesToStart()
    {
        await using var process = RuntimeProcess.Start(
            Environment.GetEnvironmentVariable(BinaryRuntimeServer.BinaryVariable)!,
            ["bbr", "--plugin", "no-such-plugin:x", "--grpc-port", "19004"]);

        var exitCode = await process.WaitForExitAsync(s_timeout);

        Assert.Equal(1, exitCode);
        Assert.Contains("\"no-such-plugin\" is not a body-based routing plugin type", process.Output, StringComparison.Ordinal);
    }
}
