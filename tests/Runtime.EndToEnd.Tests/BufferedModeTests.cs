using Runtime.EndToEnd.Tests.Fixtures;

namespace Runtime.EndToEnd.Tests;

/// <summary>BUFFERED and STREAMED modes: one CONTINUE reply per message, same kind, in order.</summary>
[Collection(RuntimeServerCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class BufferedModeTests(RuntimeServerFixture server)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Process_BufferedRequest_ContinueForHeadersThenBody()
    {
        using var client = server.CreateExtProcClient();

        var result = await client.RunBufferedAsync(
            ExtProcMessages.RequestHeaders(requestBodyMode: BodySendMode.Buffered, responseBodyMode: BodySendMode.Buffered),
            ChatCompletionBodies.Create(1024));

        AssertContinue(result.RequestHeaders, ProcessingResponse.ResponseOneofCase.RequestHeaders);
        AssertContinue(result.RequestBody, ProcessingResponse.ResponseOneofCase.RequestBody);
        Assert.Null(result.RequestBody!.RequestBody.Response?.BodyMutation);
        Assert.Empty(result.Unexpected);
        Assert.True(result.Status.IsOk, result.Status.ToString());
    }

    [Fact]
    public async Task Process_BufferedRequestAndResponse_OneReplyPerMessageInOrder()
    {
        using var client = server.CreateExtProcClient();

        var result = await client.RunBufferedAsync(
            ExtProcMessages.RequestHeaders(requestBodyMode: BodySendMode.Buffered, responseBodyMode: BodySendMode.Buffered),
            ChatCompletionBodies.Create(2048),
            ExtProcMessages.ResponseHeaders(),
            "{\"choices\":[{\"message\":{\"content\":\"hello\"}}]}"u8.ToArray());

        AssertContinue(result.RequestHeaders, ProcessingResponse.ResponseOneofCase.RequestHeaders);
        AssertContinue(result.RequestBody, ProcessingResponse.ResponseOneofCase.RequestBody);
        AssertContinue(result.ResponseHeaders, ProcessingResponse.ResponseOneofCase.ResponseHeaders);
        AssertContinue(result.ResponseBody, ProcessingResponse.ResponseOneofCase.ResponseBody);
        Assert.Empty(result.Unexpected);
        Assert.True(result.Status.IsOk, result.Status.ToString());
    }

    [Fact]
    public async Task Process_BufferedHeadersOnly_SingleHeadersReply()
    {
        using var client = server.CreateExtProcClient();

        var result = await client.RunBufferedAsync(
            ExtProcMessages.RequestHeaders(method: "GET", path: "/v1/models", requestBodyMode: BodySendMode.Buffered),
            requestBody: null);

        AssertContinue(result.RequestHeaders, ProcessingResponse.ResponseOneofCase.RequestHeaders);
        Assert.Null(result.RequestBody);
        Assert.Empty(result.Unexpected);
        Assert.True(result.Status.IsOk, result.Status.ToString());
    }

    /// <summary>Envoy's gRPC client has no receive limit: a buffered body can be many MB.</summary>
    [Fact]
    public async Task Process_BufferedFourMegabyteBody_Continue()
    {
        using var client = server.CreateExtProcClient();

        var result = await client.RunBufferedAsync(
            ExtProcMessages.RequestHeaders(requestBodyMode: BodySendMode.Buffered),
            ChatCompletionBodies.Create(4 * 1024 * 1024),
            timeout: TimeSpan.FromSeconds(30));

        AssertContinue(result.RequestBody, ProcessingResponse.ResponseOneofCase.RequestBody);
        Assert.True(result.Status.IsOk, result.Status.ToString());
    }

    [Fact]
    public async Task Process_StreamedMode_ContinuePerChunk()
    {
        using var client = server.CreateExtProcClient();
        await using var exchange = await client.StartAsync();
        var chunks = BodyChunks.SplitInto(ChatCompletionBodies.Create(3000), 3);

        await exchange.SendAsync(ExtProcMessages.RequestHeaders(requestBodyMode: BodySendMode.Streamed));
        AssertContinue(await exchange.ReadRequiredAsync(s_timeout), ProcessingResponse.ResponseOneofCase.RequestHeaders);
        for (var i = 0; i < chunks.Count; i++)
        {
            await exchange.SendAsync(ExtProcMessages.RequestBody(chunks[i].Span, endOfStream: i == chunks.Count - 1));
            AssertContinue(await exchange.ReadRequiredAsync(s_timeout), ProcessingResponse.ResponseOneofCase.RequestBody);
        }

        await exchange.CompleteAsync();
        Assert.Empty(await exchange.ReadToEndAsync(s_timeout));
        var status = await exchange.GetStatusAsync();
        Assert.True(status.IsOk, status.ToString());
    }

    private static void AssertContinue(ProcessingResponse? response, ProcessingResponse.ResponseOneofCase expected)
    {
        Assert.NotNull(response);
        Assert.Equal(expected, response.ResponseCase);
        var common = expected switch
        {
            ProcessingResponse.ResponseOneofCase.RequestHeaders => response.RequestHeaders.Response,
            ProcessingResponse.ResponseOneofCase.ResponseHeaders => response.ResponseHeaders.Response,
            ProcessingResponse.ResponseOneofCase.RequestBody => response.RequestBody.Response,
            ProcessingResponse.ResponseOneofCase.ResponseBody => response.ResponseBody.Response,
            _ => throw new ArgumentOutOfRangeException(nameof(expected), expected, null),
        };

        // An absent CommonResponse is CONTINUE on the wire too.
        Assert.Equal(CommonResponse.Types.ResponseStatus.Continue, common?.Status ?? CommonResponse.Types.ResponseStatus.Continue);
    }
}
