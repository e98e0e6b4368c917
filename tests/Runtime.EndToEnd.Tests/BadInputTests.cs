using Google.Protobuf;
using Runtime.EndToEnd.Tests.Fixtures;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// Broken gRPC input gets the right status and never hurts the process: after each case
/// the server must still answer health checks and echo a full-duplex exchange.
/// </summary>
[Collection(RuntimeServerCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class BadInputTests(RuntimeServerFixture server) : IDisposable
{
    private readonly HttpMessageInvoker _invoker = new(GrpcHttp.CreateHandler());

    public void Dispose() => _invoker.Dispose();

    [Theory]
    [InlineData("/envoy.service.ext_proc.v3.ExternalProcessor/NoSuchMethod")]
    [InlineData("/no.such.Service/Process")]
    [InlineData("/")]
    public async Task Call_UnknownMethodOnExtProcPort_Unimplemented(string path)
    {
        var result = await SendAsync(path, GrpcFraming.Encode(ExtProcMessages.FullDuplexRequestHeaders()));

        AssertStatus(GrpcStatusCode.Unimplemented, result);
        await ServerChecks.AssertStillServesAsync(server);
    }

    [Fact]
    public async Task Call_UnknownMethodOnHealthPort_Unimplemented()
    {
        var result = await RawGrpcCall.SendAsync(_invoker, server.HealthAddress, "/grpc.health.v1.Health/Nope", GrpcFraming.Encode([]));

        AssertStatus(GrpcStatusCode.Unimplemented, result);
    }

    /// <summary>Compression is Grpc.AspNetCore's: a compressed message without grpc-encoding is refused.</summary>
    [Fact]
    public async Task Process_CompressedFlagWithoutEncoding_Internal()
    {
        var result = await SendAsync(EnvoyExtProcClient.ProcessPath,
            MalformedGrpcInput.CompressedFlag(ExtProcMessages.FullDuplexRequestHeaders()));

        AssertStatus(GrpcStatusCode.Internal, result);
        await ServerChecks.AssertStillServesAsync(server);
    }

    [Fact]
    public async Task Process_CompressedFlagGzipButNotGzipped_Internal()
    {
        var result = await SendAsync(EnvoyExtProcClient.ProcessPath,
            MalformedGrpcInput.CompressedFlag(ExtProcMessages.FullDuplexRequestHeaders()),
            [new(GrpcHeaders.Encoding, "gzip")]);

        AssertStatus(GrpcStatusCode.Internal, result);
        await ServerChecks.AssertStillServesAsync(server);
    }

    [Fact]
    public async Task Process_GzipCompressedMessage_Answered()
    {
        using var compressed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(ExtProcMessages.FullDuplexRequestHeaders(endOfStream: true).ToByteArray());
        }

        var result = await SendAsync(EnvoyExtProcClient.ProcessPath, GrpcFraming.Encode(compressed.ToArray(), flag: 1), [new(GrpcHeaders.Encoding, "gzip")]);

        AssertStatus(GrpcStatusCode.OK, result);
        Assert.Single(result.Frames);
    }

    [Fact]
    public async Task Process_UndefinedCompressedFlagValue_NotOk()
    {
        var result = await SendAsync(EnvoyExtProcClient.ProcessPath,
            MalformedGrpcInput.CompressedFlag(ExtProcMessages.FullDuplexRequestHeaders(), flag: 2));

        Assert.NotNull(result.GrpcStatus);
        Assert.NotEqual(GrpcStatusCode.OK, result.GrpcStatus);
        await ServerChecks.AssertStillServesAsync(server);
    }

    [Theory]
    [InlineData(0x7FFF_FFFFu)]
    [InlineData(0xFFFF_FFFFu)]
    [InlineData(0x4000_0000u)]
    public async Task Process_LengthPrefixBeyondLimit_ResourceExhausted(uint declaredLength)
    {
        // Only two payload bytes follow: the server must decide from the prefix alone,
        // without waiting for (or allocating) the announced size.
        var result = await SendAsync(EnvoyExtProcClient.ProcessPath, MalformedGrpcInput.OversizeLengthPrefix(declaredLength));

        AssertStatus(GrpcStatusCode.ResourceExhausted, result);
        await ServerChecks.AssertStillServesAsync(server);
    }

    [Theory]
    [MemberData(nameof(MalformedGrpcInput.GarbagePayloadNames), MemberType = typeof(MalformedGrpcInput))]
    public async Task Process_GarbageFirstMessage_Internal(string name)
    {
        var result = await SendAsync(EnvoyExtProcClient.ProcessPath, GrpcFraming.Encode(MalformedGrpcInput.GarbagePayloads[name]));

        AssertStatus(GrpcStatusCode.Internal, result);
        await ServerChecks.AssertStillServesAsync(server);
    }

    [Fact]
    public async Task Process_GarbageAfterValidHeaders_Internal()
    {
        var body = GrpcFraming.Concat(
            GrpcFraming.Encode(ExtProcMessages.FullDuplexRequestHeaders()),
            GrpcFraming.Encode(MalformedGrpcInput.GarbagePayloads["length-past-end"]));

        var result = await SendAsync(EnvoyExtProcClient.ProcessPath, body);

        AssertStatus(GrpcStatusCode.Internal, result);
        await ServerChecks.AssertStillServesAsync(server);
    }

    [Fact]
    public async Task Process_TruncatedFinalPayload_Internal()
    {
        var result = await SendAsync(EnvoyExtProcClient.ProcessPath,
            MalformedGrpcInput.TruncatedPayload(ExtProcMessages.FullDuplexRequestHeaders(), missingBytes: 10));

        AssertStatus(GrpcStatusCode.Internal, result);
        await ServerChecks.AssertStillServesAsync(server);
    }

    [Fact]
    public async Task Process_TruncatedFinalPrefix_Internal()
    {
        var result = await SendAsync(EnvoyExtProcClient.ProcessPath, MalformedGrpcInput.TruncatedPrefix());

        AssertStatus(GrpcStatusCode.Internal, result);
        await ServerChecks.AssertStillServesAsync(server);
    }

    [Fact]
    public async Task Process_TruncatedFrameAfterValidMessages_Internal()
    {
        var body = GrpcFraming.Concat(
            GrpcFraming.Encode(ExtProcMessages.FullDuplexRequestHeaders()),
            GrpcFraming.Encode(ExtProcMessages.RequestBody("{\"a\":"u8, endOfStream: false)),
            MalformedGrpcInput.TruncatedPayload(ExtProcMessages.RequestBody("1}"u8, endOfStream: true)));

        var result = await SendAsync(EnvoyExtProcClient.ProcessPath, body);

        AssertStatus(GrpcStatusCode.Internal, result);
        await ServerChecks.AssertStillServesAsync(server);
    }

    [Fact]
    public async Task Process_GrpcTimeoutExceeded_DeadlineExceeded()
    {
        // Headers only, body never finished: the call can only end by its deadline.
        var result = await SendAsync(EnvoyExtProcClient.ProcessPath,
            GrpcFraming.Encode(ExtProcMessages.FullDuplexRequestHeaders()),
            [new(GrpcHeaders.Timeout, "200m")],
            keepRequestOpen: true);

        Assert.True(GrpcDeadlines.EndedByDeadline(result.Status), $"{result}{Environment.NewLine}Server output:{Environment.NewLine}{server.Diagnostics}");
        await ServerChecks.AssertStillServesAsync(server);
    }

    [Fact]
    public async Task Process_WrongMessageTypeThatStillParses_ServerStaysUp()
    {
        // A HealthCheckRequest parses as a ProcessingRequest with only an unknown field 1: no
        // oneof set. The status is the server's choice; staying up is not.
        var result = await SendAsync(EnvoyExtProcClient.ProcessPath,
            GrpcFraming.Encode(new Runtime.Proto.Grpc.Health.V1.HealthCheckRequest { Service = "x" }));

        Assert.NotNull(result.GrpcStatus);
        await ServerChecks.AssertStillServesAsync(server);
    }

    private Task<RawGrpcResult> SendAsync(
        string path,
        byte[] body,
        IReadOnlyList<KeyValuePair<string, string>>? headers = null,
        bool keepRequestOpen = false) =>
        RawGrpcCall.SendAsync(_invoker, server.ExtProcAddress, path, body,
            new RawGrpcCallOptions { Headers = headers ?? [], KeepRequestOpen = keepRequestOpen });

    private void AssertStatus(GrpcStatusCode expected, RawGrpcResult result)
    {
        Assert.True(result.GrpcStatus == expected, $"Expected {expected} ({(int)expected}); got {result}.{Environment.NewLine}Server output:{Environment.NewLine}{server.Diagnostics}");
        Assert.Equal(System.Net.HttpStatusCode.OK, result.HttpStatus);
    }
}
