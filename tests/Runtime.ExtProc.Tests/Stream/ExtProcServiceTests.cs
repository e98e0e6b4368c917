using System.Text;
using Google.Protobuf;
using Runtime.ExtProc.Stream;
using Runtime.Primitives.Buffers;
using Runtime.Proto.Envoy.Service.ExtProc.V3;
using Runtime.TestSupport.ExtProc;
using Runtime.TestSupport.Grpc;
using Runtime.Transport.Grpc;
using GrpcFraming = Runtime.TestSupport.Grpc.GrpcFraming;
using ProtoBodySendMode = Runtime.Proto.Envoy.Extensions.Filters.Http.ExtProc.V3.ProcessingMode.Types.BodySendMode;
using TestGrpcStatus = Runtime.TestSupport.Grpc.GrpcStatusCode;

namespace Runtime.ExtProc.Tests.Stream;

/// <summary>
/// The stream state machine through real Kestrel HTTP/2 and the Envoy-like client. Every test
/// ends by proving the stream ended and its pooled buffers went back; the class runs alone, so the
/// process-wide buffer counter is not moved by a parallel test.
/// </summary>
[Collection(PooledBufferAccountingCollection.Name)]
public class ExtProcServiceTests
{
    private static readonly byte[] s_body = ChatBody(200_000);

    private static byte[] ChatBody(int size)
    {
        var prefix = "{\"model\":\"llama\",\"messages\":[{\"role\":\"user\",\"content\":\"";
        var suffix = "\"}]}";
        var text = new StringBuilder(prefix);
        var rng = new Random(7);
        while (text.Length < size - suffix.Length)
        {
            text.Append((char)('a' + rng.Next(26)));
        }

        return Encoding.UTF8.GetBytes(text.Append(suffix).ToString());
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(7, false)]
    [InlineData(40, true)]
    public async Task PassThrough_FullDuplexBodySplitAnywhere_EchoesExactBytesInGieChunks(int chunks, bool trailers)
    {
        var before = PooledBuffers.Outstanding;
        await using var server = await ExtProcTestServer.StartAsync(new PassThroughProcessor());
        var request = new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(),
            BodyChunks = BodyChunks.SplitRandomly(s_body, chunks, seed: chunks),
            Trailers = trailers ? [new("x-trailer", "t")] : null,
        };
        var response = new FullDuplexPhase
        {
            Headers = ExtProcMessages.ResponseHeaders(),
            BodyChunks = BodyChunks.SplitRandomly(s_body.AsMemory(0, 70_000), 3, seed: 1),
            FinalEmptyEndOfStream = true,
        };

        var result = (await server.Client.RunFullDuplexAsync(request, response)).EnsureValid();

        Assert.Equal(s_body, result.Request.StreamedBody);
        Assert.Equal(s_body.AsSpan(0, 70_000).ToArray(), result.Response!.StreamedBody);
        Assert.All(result.Request.BodyResponses, r => Assert.True(r.RequestBody.Response.BodyMutation.StreamedResponse.Body.Length <= 62_000));
        await server.AssertNothingHeldAsync(before);
    }

    [Fact]
    public async Task FullDuplex_HeadersReplyArrivesWhileRequestBodyStillOpen()
    {
        await using var server = await ExtProcTestServer.StartAsync(new PassThroughProcessor());
        await using var exchange = await server.Client.StartAsync();
        await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
        await exchange.SendAsync(ExtProcMessages.RequestBody("{\"model\":"u8, endOfStream: false));

        var headersReply = await exchange.ReadRequiredAsync(TimeSpan.FromSeconds(5));
        Assert.NotNull(headersReply.RequestHeaders);
        var firstChunk = await exchange.ReadRequiredAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("{\"model\":", firstChunk.RequestBody.Response.BodyMutation.StreamedResponse.Body.ToStringUtf8());

        await exchange.SendAsync(ExtProcMessages.RequestBody("\"x\"}"u8, endOfStream: true));
        var last = await exchange.ReadRequiredAsync(TimeSpan.FromSeconds(5));
        Assert.True(last.RequestBody.Response.BodyMutation.StreamedResponse.EndOfStream);
        await exchange.CompleteAsync();
        Assert.True((await exchange.GetStatusAsync()).IsOk);
    }

    [Fact]
    public async Task HoldingProcessor_FullDuplex_HeadersReplyAfterWholeBodyThenOriginalBytes()
    {
        var before = PooledBuffers.Outstanding;
        await using var server = await ExtProcTestServer.StartAsync(new SingleHandlerProcessor(new HoldUntilBodyHandler()));
        var request = new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(),
            BodyChunks = BodyChunks.SplitRandomly(s_body, 13, seed: 3),
        };

        var result = (await server.Client.RunFullDuplexAsync(request)).EnsureValid();

        var mutation = result.Request.HeadersResponse!.RequestHeaders.Response;
        Assert.True(mutation.ClearRouteCache);
        var header = Assert.Single(mutation.HeaderMutation.SetHeaders).Header;
        Assert.Equal("x-body-bytes", header.Key);
        Assert.Equal(s_body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), header.RawValue.ToStringUtf8());
        Assert.Empty(header.Value);
        Assert.Equal(s_body, result.Request.StreamedBody);
        await server.AssertNothingHeldAsync(before);
    }

    [Fact]
    public async Task PassThrough_Buffered_OneContinuePerMessageOfTheSameKind()
    {
        await using var server = await ExtProcTestServer.StartAsync(new PassThroughProcessor());
        var headers = ExtProcMessages.RequestHeaders(requestBodyMode: ProtoBodySendMode.Buffered, responseBodyMode: ProtoBodySendMode.Buffered);

        var result = await server.Client.RunBufferedAsync(headers, s_body, ExtProcMessages.ResponseHeaders(), "{\"ok\":true}"u8.ToArray());

        Assert.True(result.Status.IsOk, result.Status.ToString());
        Assert.NotNull(result.RequestHeaders.RequestHeaders);
        Assert.NotNull(result.RequestBody!.RequestBody);
        Assert.Null(result.RequestBody.RequestBody.Response.BodyMutation);
        Assert.NotNull(result.ResponseHeaders!.ResponseHeaders);
        Assert.NotNull(result.ResponseBody!.ResponseBody);
        Assert.Empty(result.Unexpected);
    }

    [Fact]
    public async Task PassThrough_Streamed_OneContinuePerChunk()
    {
        await using var server = await ExtProcTestServer.StartAsync(new PassThroughProcessor());
        await using var exchange = await server.Client.StartAsync();
        await exchange.SendAsync(ExtProcMessages.RequestHeaders(requestBodyMode: ProtoBodySendMode.Streamed));
        Assert.NotNull((await exchange.ReadRequiredAsync()).RequestHeaders);
        foreach (var message in ExtProcMessages.RequestBodies(BodyChunks.SplitInto(s_body, 3), endOfStream: true))
        {
            await exchange.SendAsync(message);
        }

        for (var i = 0; i < 3; i++)
        {
            var reply = await exchange.ReadRequiredAsync();
            Assert.NotNull(reply.RequestBody);
            Assert.Null(reply.RequestBody.Response.BodyMutation);
        }

        await exchange.CompleteAsync();
        Assert.Empty(await exchange.ReadToEndAsync());
        Assert.True((await exchange.GetStatusAsync()).IsOk);
    }

    [Fact]
    public async Task ObservabilityMode_NoRepliesAndCallEndsOk()
    {
        await using var server = await ExtProcTestServer.StartAsync(new PassThroughProcessor());
        await using var exchange = await server.Client.StartAsync();
        var headers = ExtProcMessages.FullDuplexRequestHeaders();
        headers.ObservabilityMode = true;
        await exchange.SendAsync(headers);
        await exchange.SendAsync(ExtProcMessages.RequestBody("{}"u8, endOfStream: true));
        await exchange.CompleteAsync();
        Assert.Empty(await exchange.ReadToEndAsync());
        Assert.True((await exchange.GetStatusAsync()).IsOk);
    }

    [Fact]
    public async Task ImmediateResponse_EndsStreamWithOkAndNothingAfter()
    {
        var before = PooledBuffers.Outstanding;
        await using var server = await ExtProcTestServer.StartAsync(new SingleHandlerProcessor(new RejectingHandler()));
        await using var exchange = await server.Client.StartAsync();
        await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());

        var reply = await exchange.ReadRequiredAsync();
        Assert.Equal(429, (int)reply.ImmediateResponse.Status.Code);
        Assert.Equal("inference error: TooManyRequests - shed", reply.ImmediateResponse.Body);
        Assert.True((await exchange.GetStatusAsync()).IsOk);
        await server.AssertNothingHeldAsync(before);
    }

    [Fact]
    public async Task ProcessorBreaksOrdering_CallEndsInternalAndStreamIsReleased()
    {
        var before = PooledBuffers.Outstanding;
        await using var server = await ExtProcTestServer.StartAsync(new SingleHandlerProcessor(new OutOfOrderHandler()));
        await using var exchange = await server.Client.StartAsync();
        await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
        await exchange.SendAsync(ExtProcMessages.RequestBody("{}"u8, endOfStream: true));

        var status = await exchange.GetStatusAsync();
        Assert.Equal(TestGrpcStatus.Internal, status.Code);
        await server.AssertNothingHeldAsync(before);
    }

    [Fact]
    public async Task EnvoyBreaksOrdering_BodyAfterEndOfStream_InvalidArgument()
    {
        await using var server = await ExtProcTestServer.StartAsync(new PassThroughProcessor());
        await using var exchange = await server.Client.StartAsync();
        await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
        await exchange.SendAsync(ExtProcMessages.RequestBody("{}"u8, endOfStream: true));
        await exchange.SendAsync(ExtProcMessages.RequestBody("{}"u8, endOfStream: true));

        var status = await exchange.GetStatusAsync();
        Assert.Equal(TestGrpcStatus.InvalidArgument, status.Code);
        Assert.Contains("request_body after the body ended", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientResetMidBody_StreamEndsAndPooledBuffersReturn()
    {
        var before = PooledBuffers.Outstanding;
        await using var server = await ExtProcTestServer.StartAsync(new SingleHandlerProcessor(new SilentBufferingHandler()));
        var exchange = await server.Client.StartAsync();
        await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
        await exchange.SendAsync(ExtProcMessages.RequestBody(s_body.AsSpan(0, 100_000), endOfStream: false));
        await WaitUntilAsync(() => PooledBuffers.Outstanding > before);

        exchange.Abort();
        await exchange.DisposeAsync();

        await server.AssertNothingHeldAsync(before);
    }

    [Fact]
    public async Task GrpcTimeoutPasses_DeadlineExceededAndBuffersReturn()
    {
        var before = PooledBuffers.Outstanding;
        await using var server = await ExtProcTestServer.StartAsync(new SingleHandlerProcessor(new SilentBufferingHandler()));
        var bytes = GrpcFraming.Encode(ExtProcMessages.FullDuplexRequestHeaders().ToByteArray())
            .Concat(GrpcFraming.Encode(ExtProcMessages.RequestBody(s_body, endOfStream: false).ToByteArray()))
            .ToArray();

        var result = await RawGrpcCall.SendAsync(server.Client.Invoker, server.Address, EnvoyExtProcClient.ProcessPath, bytes,
            new RawGrpcCallOptions { Headers = [new("grpc-timeout", "200m")], KeepRequestOpen = true });

        Assert.True(GrpcDeadlines.EndedByDeadline(result.Status), result.ToString());
        await server.AssertNothingHeldAsync(before);
    }

    public static TheoryData<string> GarbageNames => new(MalformedGrpcInput.GarbagePayloads.Keys);

    [Theory]
    [MemberData(nameof(GarbageNames))]
    public async Task GarbageProtobuf_InternalWithReason(string name)
    {
        var before = PooledBuffers.Outstanding;
        await using var server = await ExtProcTestServer.StartAsync(new PassThroughProcessor());
        var result = await RawGrpcCall.SendAsync(server.Client.Invoker, server.Address, EnvoyExtProcClient.ProcessPath,
            GrpcFraming.Encode(MalformedGrpcInput.GarbagePayloads[name]));

        Assert.Equal(TestGrpcStatus.Internal, result.GrpcStatus);
        Assert.StartsWith("Failed to decode ProcessingRequest", result.GrpcMessage, StringComparison.Ordinal);
        await server.AssertNothingHeldAsync(before);
    }

    [Fact]
    public async Task GarbageAfterGoodMessages_RepliesSoFarThenInternal()
    {
        var before = PooledBuffers.Outstanding;
        await using var server = await ExtProcTestServer.StartAsync(new SingleHandlerProcessor(new HoldUntilBodyHandler()));
        var bytes = GrpcFraming.Encode(ExtProcMessages.FullDuplexRequestHeaders().ToByteArray())
            .Concat(GrpcFraming.Encode(ExtProcMessages.RequestBody(s_body.AsSpan(0, 50_000), endOfStream: false).ToByteArray()))
            .Concat(GrpcFraming.Encode(MalformedGrpcInput.GarbagePayloads["length-past-end"]))
            .ToArray();

        var result = await RawGrpcCall.SendAsync(server.Client.Invoker, server.Address, EnvoyExtProcClient.ProcessPath, bytes);

        Assert.Equal(TestGrpcStatus.Internal, result.GrpcStatus);
        await server.AssertNothingHeldAsync(before);
    }

    [Fact]
    public async Task MessageOverConfiguredLimit_ResourceExhausted()
    {
        await using var server = await ExtProcTestServer.StartAsync(new PassThroughProcessor(), new GrpcServerOptions { MaxReceiveMessageSize = 10_000 });
        var bytes = GrpcFraming.Encode(ExtProcMessages.RequestBody(s_body.AsSpan(0, 20_000), endOfStream: true).ToByteArray());

        var result = await RawGrpcCall.SendAsync(server.Client.Invoker, server.Address, EnvoyExtProcClient.ProcessPath, bytes);

        Assert.Equal(TestGrpcStatus.ResourceExhausted, result.GrpcStatus);
        Assert.True(result.IsTrailersOnly);
    }

    [Fact]
    public async Task ReplyOverConfiguredSendLimit_StreamFailsResourceExhausted_NextStreamServed()
    {
        var before = PooledBuffers.Outstanding;
        await using var server = await ExtProcTestServer.StartAsync(new PassThroughProcessor(), new GrpcServerOptions { MaxSendMessageSize = 10_000 });

        // The echoed piece of a 20 KB full-duplex chunk is a reply over the limit.
        var over = await server.Client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [s_body.AsMemory(0, 20_000)] });
        var under = await server.Client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [s_body.AsMemory(0, 5_000)] });

        Assert.Equal(TestGrpcStatus.ResourceExhausted, over.Status.Code);
        Assert.True(under.EnsureValid().Status.IsOk, under.Status.ToString());
        await server.AssertNothingHeldAsync(before);
    }

    [Fact]
    public async Task LargeBufferedBodyUnderDefaultLimit_Accepted()
    {
        await using var server = await ExtProcTestServer.StartAsync(new PassThroughProcessor());
        var big = new byte[8 * 1024 * 1024];
        var headers = ExtProcMessages.RequestHeaders(requestBodyMode: ProtoBodySendMode.Buffered);

        var result = await server.Client.RunBufferedAsync(headers, big);

        Assert.True(result.Status.IsOk, result.Status.ToString());
        Assert.NotNull(result.RequestBody!.RequestBody);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Delay(10);
        }
    }
}
