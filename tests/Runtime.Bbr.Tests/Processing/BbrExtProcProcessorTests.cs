using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Runtime.Bbr.Processors;
using Runtime.Primitives.Buffers;
using Runtime.Proto.Envoy.Service.ExtProc.V3;
using Runtime.TestSupport.ExtProc;
using Xunit;
using ProtoBodySendMode = Runtime.Proto.Envoy.Extensions.Filters.Http.ExtProc.V3.ProcessingMode.Types.BodySendMode;

namespace Runtime.Bbr.Tests.Processing;

/// <summary>
/// Every path of the body-based router's processor in-process on the real transport: routing in
/// full duplex (whole or chunked body, trailers) and buffered mode, a model selector's body
/// rewrite, pass-through when nothing can be read, bad bodies and rejections, and the response
/// processors seeing the final JSON and the last SSE event. Each ends with nothing held.
/// </summary>
[Collection(nameof(BbrPooledBufferCounter))]
public sealed class BbrExtProcProcessorTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    private static byte[] Chat(string model) => Encoding.UTF8.GetBytes($$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}""");

    private static async Task<ExtProcTestServer> StartAsync(IBbrRequestProcessor[]? request = null, IBbrResponseProcessor[]? response = null)
    {
        var metrics = new BbrMetrics();
        var chain = new BbrChain(request ?? [new BodyFieldToHeaderProcessor("body-field-to-header")], response ?? []);
        return await ExtProcTestServer.StartAsync(new BbrExtProcProcessor(chain, metrics, NullLogger.Instance));
    }

    private static Dictionary<string, string> SetHeaders(CommonResponse reply) =>
        reply.HeaderMutation.SetHeaders.ToDictionary(h => h.Header.Key, h => h.Header.RawValue.ToStringUtf8());

    [Theory]
    [InlineData(1, false)]
    [InlineData(4, false)]
    [InlineData(3, true)]
    public async Task FullDuplex_ModelHeaderOnTheHeadersReply_BodyForwardedExactly(int chunks, bool trailers)
    {
        var before = PooledBuffers.Outstanding;
        await using var server = await StartAsync();
        var body = Chat("food-review");
        var request = new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(),
            BodyChunks = BodyChunks.SplitInto(body, chunks),
            Trailers = trailers ? [new("x-t", "1")] : null,
        };

        var result = (await server.Client.RunFullDuplexAsync(request, timeout: s_timeout)).EnsureValid();

        var reply = result.Request.HeadersResponse!.RequestHeaders.Response;
        Assert.Equal("food-review", SetHeaders(reply)["x-gateway-model-name"]);
        Assert.True(reply.ClearRouteCache);
        Assert.Equal(body, result.Request.StreamedBody);
        await server.AssertNothingHeldAsync(before);
    }

    [Fact]
    public async Task Buffered_RoutingHeadersRideOnTheBodyReply()
    {
        var before = PooledBuffers.Outstanding;
        await using var server = await StartAsync();

        var result = await server.Client.RunBufferedAsync(ExtProcMessages.RequestHeaders(requestBodyMode: ProtoBodySendMode.Buffered), Chat("m1"), timeout: s_timeout);

        Assert.Equal(CommonResponse.Types.ResponseStatus.Continue, result.RequestHeaders.RequestHeaders.Response.Status);
        Assert.Equal("m1", SetHeaders(result.RequestBody!.RequestBody.Response)["x-gateway-model-name"]);
        await server.AssertNothingHeldAsync(before);
    }

    [Fact]
    public async Task ModelSelector_RewritesTheBody_AndTheHeaderFollowsTheNewModel()
    {
        var before = PooledBuffers.Outstanding;
        await using var server = await StartAsync([new FixedModelSelector("small-model"), new BodyFieldToHeaderProcessor("body-field-to-header")]);

        var full = (await server.Client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [Chat("auto")] }, timeout: s_timeout)).EnsureValid();
        var buffered = await server.Client.RunBufferedAsync(ExtProcMessages.RequestHeaders(requestBodyMode: ProtoBodySendMode.Buffered), Chat("auto"), timeout: s_timeout);

        var streamed = Encoding.UTF8.GetString(full.Request.StreamedBody);
        Assert.Contains("\"model\":\"small-model\"", streamed, StringComparison.Ordinal);
        var headers = SetHeaders(full.Request.HeadersResponse!.RequestHeaders.Response);
        Assert.Equal("small-model", headers["x-gateway-model-name"]);
        Assert.Equal(full.Request.StreamedBody.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), headers["content-length"]);
        var bufferedReply = buffered.RequestBody!.RequestBody.Response;
        Assert.Equal(streamed, bufferedReply.BodyMutation.Body.ToStringUtf8());
        await server.AssertNothingHeldAsync(before);
    }

    [Fact]
    public async Task StreamedOrBodiless_PassThroughUnrouted()
    {
        await using var server = await StartAsync();
        await using var exchange = await server.Client.StartAsync();
        await exchange.SendAsync(ExtProcMessages.RequestHeaders(requestBodyMode: ProtoBodySendMode.Streamed));
        var headersReply = await exchange.ReadRequiredAsync(s_timeout);
        await exchange.SendAsync(ExtProcMessages.RequestBody(Chat("m"), endOfStream: true));
        var bodyReply = await exchange.ReadRequiredAsync(s_timeout);

        Assert.Empty(headersReply.RequestHeaders.Response.HeaderMutation?.SetHeaders ?? []);
        Assert.Equal(CommonResponse.Types.ResponseStatus.Continue, bodyReply.RequestBody.Response.Status);

        var bodiless = await server.Client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(endOfStream: true) }, timeout: s_timeout);
        Assert.Empty(bodiless.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation?.SetHeaders ?? []);
    }

    [Fact]
    public async Task RejectingProcessor_ImmediateResponseWithGieCodeName()
    {
        var before = PooledBuffers.Outstanding;
        await using var server = await StartAsync([new Rejecter(429, "quota used up")]);

        var result = await server.Client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [Chat("m")] }, timeout: s_timeout);

        Assert.Equal(429, (int)result.ImmediateResponse!.Status.Code);
        Assert.Equal("inference error: ResourceExhausted - quota used up", result.ImmediateResponse.Body);
        Assert.True(result.Status.IsOk, result.Status.ToString());
        await server.AssertNothingHeldAsync(before);
    }

    [Fact]
    public async Task EmptyBodyEndedByTrailers_400AndTheServerKeepsServing()
    {
        await using var server = await StartAsync();

        var result = await server.Client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), Trailers = [new("x-t", "1")] }, timeout: s_timeout);
        Assert.Equal(400, (int)result.ImmediateResponse!.Status.Code);
        Assert.StartsWith("inference error: BadRequest - failed to parse request body", result.ImmediateResponse.Body, StringComparison.Ordinal);

        var next = (await server.Client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [Chat("m")] }, timeout: s_timeout)).EnsureValid();
        Assert.Null(next.ImmediateResponse);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("text/event-stream")]
    public async Task ResponseProcessors_SeeTheFinalJsonOrLastEvent_WhileChunksAreEchoedAtOnce(string contentType)
    {
        var before = PooledBuffers.Outstanding;
        var usage = new UsageRecorder();
        await using var server = await StartAsync(response: [usage]);
        var chunks = contentType == "application/json"
            ? BodyChunks.SplitInto(Encoding.UTF8.GetBytes("{\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}"), 3)
            : [Encoding.UTF8.GetBytes("data: {\"choices\":[]}\n\n"), Encoding.UTF8.GetBytes("data: {\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}\n\ndata: [DONE]\n\n")];
        var response = new FullDuplexPhase { Headers = ExtProcMessages.ResponseHeaders(headers: [new("content-type", contentType)]), BodyChunks = chunks };

        var result = (await server.Client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [Chat("m")] }, response, timeout: s_timeout)).EnsureValid();

        Assert.Equal(BodyChunks.Join(chunks), result.Response!.StreamedBody);
        Assert.Equal((9, 2), usage.Seen);
        await server.AssertNothingHeldAsync(before);
    }

    private sealed class FixedModelSelector(string model) : IModelSelector
    {
        public string TypeName => "fixed-model-selector";

        public string Name => TypeName;

        public IReadOnlyList<string> BodyFields { get; } = ["model"];

        public bool ProcessRequest(BbrRequest request)
        {
            request.SetBodyString(request.FieldIndex("model"), Encoding.UTF8.GetBytes(model));
            return true;
        }
    }

    private sealed class Rejecter(int status, string reason) : IBbrRequestProcessor
    {
        public string TypeName => "rejecter";

        public string Name => TypeName;

        public IReadOnlyList<string> BodyFields { get; } = [];

        public bool ProcessRequest(BbrRequest request) => request.Reject(status, reason);
    }

    private sealed class UsageRecorder : IBbrResponseProcessor
    {
        public (long Prompt, long Completion) Seen { get; private set; }

        public string TypeName => "usage-recorder";

        public string Name => TypeName;

        public void ProcessResponse(BbrResponse response)
        {
            Assert.True(response.TryReadUsage(out var usage));
            Seen = (usage.PromptTokens, usage.CompletionTokens);
        }
    }
}

/// <summary>Tests that count pooled buffers process-wide must not run beside other tests.</summary>
[CollectionDefinition(nameof(BbrPooledBufferCounter), DisableParallelization = true)]
public sealed class BbrPooledBufferCounter;
