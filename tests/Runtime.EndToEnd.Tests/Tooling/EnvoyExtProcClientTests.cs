using System.Net;
using Runtime.Proto.Grpc.Health.V1;

namespace Runtime.EndToEnd.Tests.Tooling;

/// <summary>The Envoy-like client against an in-process Kestrel fake: proves the tooling, not the runtime.</summary>
[Trait("Category", "Tooling")]
public sealed class EnvoyExtProcClientTests : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private FakeExtProcServer _server = null!;
    private EnvoyExtProcClient _client = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeExtProcServer.StartAsync();
        _client = new EnvoyExtProcClient(_server.Address);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task RunFullDuplexAsync_PassThroughServer_ReassemblesBodyAndIsValid()
    {
        var body = ChatCompletionBodies.Create(220_000);

        var result = await _client.RunFullDuplexAsync(new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(),
            BodyChunks = BodyChunks.SplitAt(body, 1, 70_000, 219_999),
        });

        result.EnsureValid();
        Assert.Equal(body, result.Request.StreamedBody);
        Assert.Equal(1, result.Request.EndOfStreamCount);
        Assert.All(result.Request.BodyResponses, r => Assert.True(r.RequestBody.Response.BodyMutation.StreamedResponse.Body.Length <= BodyChunks.GieChunkBytes));
        Assert.Equal(GrpcStatusSource.Trailers, result.Status.Source);
    }

    [Fact]
    public async Task RunFullDuplexAsync_BothPhasesWithTrailers_CollectsEachDirectionInOrder()
    {
        var requestBody = ChatCompletionBodies.Create(5_000);
        var responseBody = "data: {\"choices\":[]}\n\ndata: [DONE]\n\n"u8.ToArray();

        var result = await _client.RunFullDuplexAsync(
            new FullDuplexPhase
            {
                Headers = ExtProcMessages.FullDuplexRequestHeaders(),
                BodyChunks = BodyChunks.SplitInto(requestBody, 3),
                Trailers = [new("x-request-trailer", "1")],
            },
            new FullDuplexPhase
            {
                Headers = ExtProcMessages.ResponseHeaders(headers: [new("content-type", "text/event-stream")]),
                BodyChunks = BodyChunks.SplitAt(responseBody, 10),
                Trailers = [new("x-response-trailer", "1")],
            });

        result.EnsureValid();
        Assert.Equal(requestBody, result.Request.StreamedBody);
        Assert.Equal(responseBody, result.Response!.StreamedBody);
        Assert.NotNull(result.Request.TrailersResponse);
        Assert.NotNull(result.Response.TrailersResponse);
    }

    [Fact]
    public async Task ReadAsync_RequestStillOpen_ReceivesResponsesAsTheyAreProduced()
    {
        await using var exchange = await _client.StartAsync();
        await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
        await exchange.SendAsync(ExtProcMessages.RequestBody("abc"u8, endOfStream: false));

        var headers = await exchange.ReadRequiredAsync(s_timeout);
        var first = await exchange.ReadRequiredAsync(s_timeout);

        Assert.Equal(ProcessingResponse.ResponseOneofCase.RequestHeaders, headers.ResponseCase);
        Assert.Equal("abc", first.RequestBody.Response.BodyMutation.StreamedResponse.Body.ToStringUtf8());
        Assert.False(exchange.Call.RequestCompleted);

        await exchange.SendAsync(ExtProcMessages.RequestBody("def"u8, endOfStream: true));
        var last = await exchange.ReadRequiredAsync(s_timeout);
        await exchange.CompleteAsync();
        Assert.True(last.RequestBody.Response.BodyMutation.StreamedResponse.EndOfStream);
        Assert.Null(await exchange.ReadAsync(s_timeout));
        Assert.True((await exchange.GetStatusAsync()).IsOk);
    }

    [Fact]
    public async Task Abort_MidBody_ServerObservesReset()
    {
        var exchange = await _client.StartAsync();
        await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
        await exchange.ReadRequiredAsync(s_timeout);

        exchange.Abort();

        await _server.WaitForAbortAsync(s_timeout);
        Assert.Contains(EnvoyExtProcClient.ProcessPath, _server.AbortedPaths);
        Assert.NotNull((await exchange.GetStatusAsync()).TransportError);
        await exchange.DisposeAsync();
    }

    [Fact]
    public async Task DisposeAsync_UnfinishedExchange_ServerObservesReset()
    {
        await using (var exchange = await _client.StartAsync())
        {
            await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
            await exchange.SendAsync(ExtProcMessages.RequestBody("partial"u8, endOfStream: false));
            await exchange.ReadRequiredAsync(s_timeout);
        }

        await _server.WaitForAbortAsync(s_timeout);
    }

    [Fact]
    public async Task StartAsync_ManyExchangesOnOneConnection_RunConcurrently()
    {
        var exchanges = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => _client.StartAsync()));
        try
        {
            await Task.WhenAll(exchanges.Select(e => e.SendAsync(ExtProcMessages.FullDuplexRequestHeaders())));
            var replies = await Task.WhenAll(exchanges.Select(e => e.ReadRequiredAsync(s_timeout)));
            Assert.All(replies, r => Assert.Equal(ProcessingResponse.ResponseOneofCase.RequestHeaders, r.ResponseCase));
        }
        finally
        {
            await Task.WhenAll(exchanges.Select(e => e.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task GetStatusAsync_TrailersOnlyResponse_ReadsStatusFromHeaders()
    {
        var result = await RawGrpcCall.SendAsync(_client.Invoker, _server.Address, FakeExtProcServer.StatusPath, ReadOnlyMemory<byte>.Empty,
            new RawGrpcCallOptions { Headers = [new("x-test-status", "8"), new("x-test-message", "too%20big"), new("x-test-trailers-only", "1")] });

        Assert.Equal(HttpStatusCode.OK, result.HttpStatus);
        Assert.Equal(GrpcStatusCode.ResourceExhausted, result.GrpcStatus);
        Assert.Equal("too big", result.GrpcMessage);
        Assert.True(result.IsTrailersOnly);
        Assert.Empty(result.Frames);
    }

    [Fact]
    public async Task GetStatusAsync_StatusInTrailers_DecodesPercentEncodedMessage()
    {
        var body = GrpcFraming.Encode(new HealthCheckRequest());

        var result = await RawGrpcCall.SendAsync(_client.Invoker, _server.Address, FakeExtProcServer.StatusPath, body,
            new RawGrpcCallOptions { Headers = [new("x-test-status", "13"), new("x-test-message", "bad%3A%20%E2%9C%93")] });

        Assert.Equal(GrpcStatusCode.Internal, result.GrpcStatus);
        Assert.Equal("bad: \u2713", result.GrpcMessage);
        Assert.Equal(GrpcStatusSource.Trailers, result.Status.Source);
        Assert.Single(result.Frames);
        Assert.Contains("grpc-status", result.Trailers.Keys);
    }

    [Fact]
    public async Task RawGrpcCall_UnknownPath_ReportsTrailersOnlyUnimplemented()
    {
        var result = await RawGrpcCall.SendAsync(_client.Invoker, _server.Address, "/no.Such/Method", GrpcFraming.Encode([]));

        Assert.Equal(GrpcStatusCode.Unimplemented, result.GrpcStatus);
        Assert.True(result.IsTrailersOnly);
    }

    [Fact]
    public async Task RawGrpcCall_TruncatedFrameThenEndOfStream_SendsBytesVerbatim()
    {
        // The fake ignores an incomplete trailing frame; the point is that the helper gets
        // the broken body onto the wire and still reports the call's outcome.
        var body = MalformedGrpcInput.TruncatedPayload(new HealthCheckRequest { Service = "known" });

        var result = await RawGrpcCall.SendAsync(_client.Invoker, _server.Address, FakeExtProcServer.StatusPath, body,
            new RawGrpcCallOptions { Headers = [new("x-test-status", "0")] });

        Assert.Equal(GrpcStatusCode.OK, result.GrpcStatus);
        Assert.Empty(result.Frames);
    }

    [Fact]
    public async Task CheckAsync_KnownAndUnknownService_ReturnsServingOrNotFound()
    {
        using var health = new GrpcHealthClient(_server.Address);

        var known = await health.CheckAsync("known");
        var unknown = await health.CheckAsync("unknown");

        Assert.True(known.Status.IsOk, known.Status.ToString());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, known.Response?.Status);
        Assert.Equal(GrpcStatusCode.NotFound, unknown.Status.Code);
        Assert.Null(unknown.Response);
    }

    [Fact]
    public async Task StartAsync_NothingListening_ThrowsHttpRequestException()
    {
        using var client = new EnvoyExtProcClient(new Uri($"http://127.0.0.1:{TestPorts.GetFreeTcpPort()}"));

        await Assert.ThrowsAsync<HttpRequestException>(() => client.StartAsync());
    }

    [Fact]
    public async Task ReadAsync_NoResponseWithinTimeout_ThrowsTimeoutAndKeepsStreamUsable()
    {
        await using var exchange = await _client.StartAsync();

        await Assert.ThrowsAsync<TimeoutException>(() => exchange.ReadAsync(TimeSpan.FromMilliseconds(50)));

        await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders(endOfStream: true));
        var reply = await exchange.ReadRequiredAsync(s_timeout);
        Assert.Equal(ProcessingResponse.ResponseOneofCase.RequestHeaders, reply.ResponseCase);
    }
}
