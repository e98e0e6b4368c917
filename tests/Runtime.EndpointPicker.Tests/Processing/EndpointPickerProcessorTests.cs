using System.Text;
using Runtime.Endpoints;
using Runtime.EndpointPicker.Requests;
using Runtime.Primitives.Buffers;
using Runtime.Proto.Envoy.Service.ExtProc.V3;
using Runtime.TestSupport.ExtProc;
using ProtoBodySendMode = Runtime.Proto.Envoy.Extensions.Filters.Http.ExtProc.V3.ProcessingMode.Types.BodySendMode;

namespace Runtime.EndpointPicker.Tests.Processing;

/// <summary>
/// Every path of the endpoint picker's processor, in-process on the real transport: the pick in
/// each body mode, each refusal, the model rewrite and its restore, moving the load to the
/// endpoint Envoy really used, usage capture, and release on a cancelled stream. Each test ends
/// by proving the stream ended and its pooled buffers went back.
/// </summary>
[Collection(nameof(PooledBufferCounter))]
public sealed class EndpointPickerProcessorTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    private static byte[] Chat(string model = "llama", string prompt = "hello") =>
        Encoding.UTF8.GetBytes($$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{prompt}}"}]}""");

    private static FullDuplexPhase Request(byte[] body, Runtime.Proto.Envoy.Config.Core.V3.Metadata? metadata = null, int chunks = 1)
    {
        var headers = ExtProcMessages.FullDuplexRequestHeaders();
        if (metadata is not null)
        {
            headers.MetadataContext = metadata;
        }

        return new FullDuplexPhase { Headers = headers, BodyChunks = chunks == 1 ? [body] : BodyChunks.SplitInto(body, chunks) };
    }

    private static string SetHeader(CommonResponse reply, string name) =>
        reply.HeaderMutation.SetHeaders.Single(h => h.Header.Key == name).Header.RawValue.ToStringUtf8();

    private static string LbMetadata(ProcessingResponse response) =>
        response.DynamicMetadata.Fields["envoy.lb"].StructValue.Fields["x-gateway-destination-endpoint"].StringValue;

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public async Task FullDuplex_PicksOnBodyEnd_DestinationInHeaderAndLbMetadata_BodyForwardedExactly(int chunks)
    {
        var before = PooledBuffers.Outstanding;
        await using var picker = await PickerHarness.StartAsync();
        var body = Chat();

        var result = (await picker.Client.RunFullDuplexAsync(Request(body, chunks: chunks), timeout: s_timeout)).EnsureValid();

        var headersReply = result.Request.HeadersResponse!;
        Assert.Equal(PickerHarness.PodA.HostPort, SetHeader(headersReply.RequestHeaders.Response, "x-gateway-destination-endpoint"));
        Assert.Equal(PickerHarness.PodA.HostPort, LbMetadata(headersReply));
        Assert.True(headersReply.RequestHeaders.Response.ClearRouteCache);
        Assert.Equal(body, result.Request.StreamedBody);
        Assert.Equal("llama", picker.Scheduler.LastTargetModel);
        await picker.Server.AssertNothingHeldAsync(before);
        Assert.Equal(0, picker.State(PickerHarness.PodA).InFlightRequests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EmitEndpointScores_EveryScoredCandidateUnderEnvoyLb_OnlyWhenEnabled(bool enabled)
    {
        await using var picker = await PickerHarness.StartAsync(emitEndpointScores: enabled);

        var result = (await picker.Client.RunFullDuplexAsync(Request(Chat()), timeout: s_timeout)).EnsureValid();

        var lb = result.Request.HeadersResponse!.DynamicMetadata.Fields["envoy.lb"].StructValue.Fields;
        Assert.Equal(PickerHarness.PodA.HostPort, lb["x-gateway-destination-endpoint"].StringValue);
        if (!enabled)
        {
            Assert.False(lb.ContainsKey("x-gateway-destination-endpoint-scores"));
            return;
        }

        var scores = lb["x-gateway-destination-endpoint-scores"].StructValue.Fields.ToDictionary(f => f.Key, f => f.Value.NumberValue);
        Assert.Equal(new Dictionary<string, double> { [PickerHarness.PodA.HostPort] = 0.9, [PickerHarness.PodB.HostPort] = 0.4 }, scores);
    }

    [Fact]
    public async Task Buffered_ReplyOnTheBodyMessage()
    {
        var before = PooledBuffers.Outstanding;
        await using var picker = await PickerHarness.StartAsync();

        var result = await picker.Client.RunBufferedAsync(ExtProcMessages.RequestHeaders(requestBodyMode: ProtoBodySendMode.Buffered, responseBodyMode: ProtoBodySendMode.Buffered), Chat(), timeout: s_timeout);

        Assert.Equal(CommonResponse.Types.ResponseStatus.Continue, result.RequestHeaders.RequestHeaders.Response.Status);
        var bodyReply = result.RequestBody!.RequestBody.Response;
        Assert.Equal(PickerHarness.PodA.HostPort, SetHeader(bodyReply, "x-gateway-destination-endpoint"));
        Assert.Null(bodyReply.BodyMutation);
        await picker.Server.AssertNothingHeldAsync(before);
    }

    [Fact]
    public async Task Streamed_PicksOnHeaders_BodyPassesThroughUnread()
    {
        var before = PooledBuffers.Outstanding;
        await using var picker = await PickerHarness.StartAsync();
        await using var exchange = await picker.Client.StartAsync();

        await exchange.SendAsync(ExtProcMessages.RequestHeaders(requestBodyMode: ProtoBodySendMode.Streamed, responseBodyMode: ProtoBodySendMode.Streamed));
        var headersReply = await exchange.ReadRequiredAsync(s_timeout);
        Assert.Equal(PickerHarness.PodA.HostPort, SetHeader(headersReply.RequestHeaders.Response, "x-gateway-destination-endpoint"));
        Assert.Equal(string.Empty, picker.Scheduler.LastTargetModel);

        await exchange.SendAsync(ExtProcMessages.RequestBody("not json at all"u8, endOfStream: true));
        var bodyReply = await exchange.ReadRequiredAsync(s_timeout);
        Assert.Equal(CommonResponse.Types.ResponseStatus.Continue, bodyReply.RequestBody.Response.Status);
        await exchange.CompleteAsync();
        await exchange.ReadToEndAsync(s_timeout);
        await picker.Server.AssertNothingHeldAsync(before);
    }

    [Fact]
    public async Task HeadersOnlyRequest_IsPickedToo()
    {
        await using var picker = await PickerHarness.StartAsync();
        await using var exchange = await picker.Client.StartAsync();

        await exchange.SendAsync(ExtProcMessages.RequestHeaders(method: "GET", endOfStream: true, requestBodyMode: ProtoBodySendMode.FullDuplexStreamed, responseBodyMode: ProtoBodySendMode.FullDuplexStreamed));

        var reply = await exchange.ReadRequiredAsync(s_timeout);
        Assert.Equal(PickerHarness.PodA.HostPort, SetHeader(reply.RequestHeaders.Response, "x-gateway-destination-endpoint"));
    }

    [Fact]
    public async Task NoEndpoints_503WithGieBodyAndCounted()
    {
        var before = PooledBuffers.Outstanding;
        await using var picker = await PickerHarness.StartAsync();
        picker.Store.Publish([]);

        var result = await picker.Client.RunFullDuplexAsync(Request(Chat()), timeout: s_timeout);

        Assert.Equal(503, (int)result.ImmediateResponse!.Status.Code);
        Assert.Equal("inference error: ServiceUnavailable - failed to find endpoint candidates for serving the request", result.ImmediateResponse.Body);
        Assert.True(result.Status.IsOk, result.Status.ToString());
        Assert.Contains("inference_objective_request_error_total{error_code=\"ServiceUnavailable\",model_name=\"llama\",target_model_name=\"llama\"} 1", picker.RenderMetrics(), StringComparison.Ordinal);
        await picker.Server.AssertNothingHeldAsync(before);
    }

    [Theory]
    [InlineData("{\"model\": \"llama\"")]
    [InlineData("[1,2]")]
    [InlineData("{\"messages\":[]}")]
    public async Task BadBody_400BadRequest_NothingPickedAndServerKeepsServing(string body)
    {
        var before = PooledBuffers.Outstanding;
        await using var picker = await PickerHarness.StartAsync();

        var result = await picker.Client.RunFullDuplexAsync(Request(Encoding.UTF8.GetBytes(body)), timeout: s_timeout);

        Assert.Equal(400, (int)result.ImmediateResponse!.Status.Code);
        Assert.StartsWith("inference error: BadRequest - ", result.ImmediateResponse.Body, StringComparison.Ordinal);
        Assert.Null(picker.Scheduler.LastTargetModel);
        var next = (await picker.Client.RunFullDuplexAsync(Request(Chat()), timeout: s_timeout)).EnsureValid();
        Assert.Null(next.ImmediateResponse);
        await picker.Server.AssertNothingHeldAsync(before);
    }

    [Fact]
    public async Task EveryEndpointFiltered_429ResourceExhausted()
    {
        await using var picker = await PickerHarness.StartAsync();
        picker.Scheduler.FilterAll = true;

        var result = await picker.Client.RunFullDuplexAsync(Request(Chat()), timeout: s_timeout);

        Assert.Equal(429, (int)result.ImmediateResponse!.Status.Code);
        Assert.StartsWith("inference error: ResourceExhausted - failed to find target endpoint", result.ImmediateResponse.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubsetHint_NarrowsCandidates_AndAHintOutsideThePoolIs503()
    {
        await using var picker = await PickerHarness.StartAsync();

        var narrowed = (await picker.Client.RunFullDuplexAsync(Request(Chat(), PickerHarness.SubsetHint(PickerHarness.PodB.HostPort)), timeout: s_timeout)).EnsureValid();
        Assert.Equal(PickerHarness.PodB.HostPort, SetHeader(narrowed.Request.HeadersResponse!.RequestHeaders.Response, "x-gateway-destination-endpoint"));
        Assert.Equal(["pod-b"], picker.Scheduler.LastCandidates);

        var outside = await picker.Client.RunFullDuplexAsync(Request(Chat(), PickerHarness.SubsetHint("10.9.9.9:8000")), timeout: s_timeout);
        Assert.Equal(503, (int)outside.ImmediateResponse!.Status.Code);
    }

    [Fact]
    public async Task ModelRewrite_UpstreamGetsTarget_ClientGetsItsOwnModelBack()
    {
        var before = PooledBuffers.Outstanding;
        await using var picker = await PickerHarness.StartAsync();
        picker.Rewrites.Publish(new Dictionary<string, IReadOnlyList<ModelRewriteTarget>> { ["llama"] = [new("llama-v2", 1)] });
        var response = new FullDuplexPhase
        {
            Headers = ExtProcMessages.ResponseHeaders(headers: [new("content-type", "application/json"), new("content-length", "40")]),
            BodyChunks = [Encoding.UTF8.GetBytes("{\"id\":\"1\",\"model\":\"llama-v2\",\"choices\":[]}")],
        };

        var result = (await picker.Client.RunFullDuplexAsync(Request(Chat()), response, timeout: s_timeout)).EnsureValid();

        Assert.Equal("llama-v2", picker.Scheduler.LastTargetModel);
        Assert.Contains("\"model\":\"llama-v2\"", Encoding.UTF8.GetString(result.Request.StreamedBody), StringComparison.Ordinal);
        Assert.Equal(result.Request.StreamedBody.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), SetHeader(result.Request.HeadersResponse!.RequestHeaders.Response, "content-length"));
        Assert.Equal("{\"id\":\"1\",\"model\":\"llama\",\"choices\":[]}", Encoding.UTF8.GetString(result.Response!.StreamedBody));
        Assert.Contains("content-length", result.Response.HeadersResponse!.ResponseHeaders.Response.HeaderMutation.RemoveHeaders);
        await picker.Server.AssertNothingHeldAsync(before);
    }

    [Fact]
    public async Task ServedEndpointReport_MovesTheInFlightLoadToTheEndpointEnvoyUsed()
    {
        var before = PooledBuffers.Outstanding;
        await using var picker = await PickerHarness.StartAsync();
        await using var exchange = await picker.Client.StartAsync();
        await exchange.SendAllAsync([ExtProcMessages.FullDuplexRequestHeaders(), ExtProcMessages.RequestBody(Chat(), endOfStream: true)]);
        await exchange.ReadRequiredAsync(s_timeout);
        await exchange.ReadRequiredAsync(s_timeout);
        Assert.Equal(1, picker.State(PickerHarness.PodA).InFlightRequests);

        // Envoy fell back to pod-b and says so on the response headers.
        var responseHeaders = ExtProcMessages.ResponseHeaders();
        responseHeaders.MetadataContext = PickerHarness.ServedMetadata(PickerHarness.PodB);
        await exchange.SendAsync(responseHeaders);
        await exchange.ReadRequiredAsync(s_timeout);

        Assert.Equal(0, picker.State(PickerHarness.PodA).InFlightRequests);
        Assert.Equal(1, picker.State(PickerHarness.PodB).InFlightRequests);
        await exchange.SendAsync(ExtProcMessages.ResponseBody("{}"u8, endOfStream: true));
        await exchange.ReadRequiredAsync(s_timeout);
        await exchange.CompleteAsync();
        await exchange.ReadToEndAsync(s_timeout);
        await picker.Server.AssertNothingHeldAsync(before);
        Assert.Equal(0, picker.State(PickerHarness.PodB).InFlightRequests);
    }

    [Fact]
    public async Task ResponseUsage_IsReadIntoTokenMetrics_ForJsonAndForTheLastSseEvent()
    {
        await using var picker = await PickerHarness.StartAsync();
        var json = new FullDuplexPhase
        {
            Headers = ExtProcMessages.ResponseHeaders(),
            BodyChunks = BodyChunks.SplitInto(Encoding.UTF8.GetBytes("{\"model\":\"llama\",\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":5,\"total_tokens\":16}}"), 3),
        };
        (await picker.Client.RunFullDuplexAsync(Request(Chat()), json, timeout: s_timeout)).EnsureValid();

        var sse = new FullDuplexPhase
        {
            Headers = ExtProcMessages.ResponseHeaders(headers: [new("content-type", "text/event-stream")]),
            BodyChunks =
            [
                Encoding.UTF8.GetBytes("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n"),
                Encoding.UTF8.GetBytes("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,\"total_tokens\":10}}\n\ndata: [DONE]\n\n"),
            ],
        };
        (await picker.Client.RunFullDuplexAsync(Request(Chat()), sse, timeout: s_timeout)).EnsureValid();

        var page = picker.RenderMetrics();
        Assert.Contains("inference_objective_input_tokens_sum{model_name=\"llama\",target_model_name=\"llama\"} 18\n", page, StringComparison.Ordinal);
        Assert.Contains("inference_objective_output_tokens_sum{model_name=\"llama\",target_model_name=\"llama\"} 8\n", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CancelledStream_ReleasesTheEndpointsInFlightCount()
    {
        var before = PooledBuffers.Outstanding;
        await using var picker = await PickerHarness.StartAsync();
        var exchange = await picker.Client.StartAsync();
        await exchange.SendAllAsync([ExtProcMessages.FullDuplexRequestHeaders(), ExtProcMessages.RequestBody(Chat(), endOfStream: true)]);
        await exchange.ReadRequiredAsync(s_timeout);
        Assert.Equal(1, picker.State(PickerHarness.PodA).InFlightRequests);

        await exchange.DisposeAsync();

        await picker.Server.AssertNothingHeldAsync(before);
        Assert.Equal(0, picker.State(PickerHarness.PodA).InFlightRequests);
    }
}
