using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Simulation;
using Metadata = Runtime.Proto.Envoy.Config.Core.V3.Metadata;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// What Envoy does to the endpoint picker's streams beyond the happy path (SPEC §10), through the
/// AOT binary: resets at every phase, an early half-close, a rejection answered with one
/// <c>immediate_response</c> and nothing else (never <c>streamed_immediate_response</c>, which Envoy
/// accepts only for some modes), and several unexpected messages packed into one write (the Envoy
/// 1.39 advisory). One endpoint that admits one request at a time: a request whose slot leaked
/// would leave the next one queued until its TTL, so every test ends by getting a pick at once.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class ExtProcFaultTests : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    private SimulatorFarm _farm = null!;
    private BinaryRuntimeServer _server = null!;

    public async Task InitializeAsync()
    {
        _farm = await SimulatorFarm.StartAsync(1, new SimulatorOptions());
        _server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--endpoints", _farm[0].Address, "--config-text", """
            apiVersion: inference.networking.x-k8s.io/v1alpha1
            kind: EndpointPickerConfig
            featureGates: [flowControl]
            plugins:
            - type: concurrency-detector
              parameters:
                maxConcurrency: 1
            - type: queue-scorer
            - type: max-score-picker
            schedulingProfiles:
            - name: default
              plugins:
              - pluginRef: queue-scorer
              - pluginRef: max-score-picker
            saturationDetector:
              pluginRef: concurrency-detector
            flowControl:
              defaultRequestTTL: 8s
            """]);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _farm.DisposeAsync();
    }

    public static TheoryData<string> Phases => ["request_headers", "request_body", "picked", "response_headers", "response_body"];

    [Theory]
    [MemberData(nameof(Phases))]
    public async Task EnvoyResets_AtEveryPhase_SlotReleasedAndServing(string phase)
    {
        using var client = new EnvoyExtProcClient(_server.ExtProcAddress);
        for (var round = 0; round < 3; round++)
        {
            var exchange = await client.StartAsync();
            await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
            if (phase != "request_headers")
            {
                var body = Chat();
                await exchange.SendAsync(ExtProcMessages.RequestBody(body.AsSpan(0, phase == "request_body" ? body.Length / 2 : body.Length), endOfStream: phase != "request_body"));
            }

            if (phase is "picked" or "response_headers" or "response_body")
            {
                await ReadRequestDirectionAsync(exchange);
            }

            if (phase is "response_headers" or "response_body")
            {
                await exchange.SendAsync(ExtProcMessages.ResponseHeaders(200, [new("content-type", "text/event-stream")]));
                Assert.NotNull((await exchange.ReadRequiredAsync(s_timeout)).ResponseHeaders);
            }

            if (phase == "response_body")
            {
                await exchange.SendAsync(ExtProcMessages.ResponseBody("data: {\"choices\":[]}\n\n"u8, endOfStream: false));
                Assert.NotNull((await exchange.ReadRequiredAsync(s_timeout)).ResponseBody);
            }

            exchange.Abort();
            await exchange.DisposeAsync();
        }

        await AssertPickedAtOnceAsync(client);
    }

    [Fact]
    public async Task EnvoyHalfClosesEarly_AfterThePick_CallEndsOkAndSlotReleased()
    {
        // Envoy 1.37+ half-closes once it needs no more processing (no response phase here).
        using var client = new EnvoyExtProcClient(_server.ExtProcAddress);
        for (var round = 0; round < 3; round++)
        {
            await using var exchange = await client.StartAsync();
            await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
            await exchange.SendAsync(ExtProcMessages.RequestBody(Chat(), endOfStream: true));
            await ReadRequestDirectionAsync(exchange);
            await exchange.CompleteAsync();

            Assert.Empty(await exchange.ReadToEndAsync(s_timeout));
            var status = await exchange.GetStatusAsync(s_timeout);
            Assert.True(status.IsOk, status.ToString());
        }

        await AssertPickedAtOnceAsync(client);
    }

    [Fact]
    public async Task Rejection_OneImmediateResponseOnly_NeverStreamedImmediateResponse()
    {
        using var client = new EnvoyExtProcClient(_server.ExtProcAddress);
        await using var exchange = await client.StartAsync();
        var headers = ExtProcMessages.FullDuplexRequestHeaders();
        headers.MetadataContext = SubsetHint("10.9.9.9:8000"); // no such endpoint: 503
        await exchange.SendAsync(headers);
        await exchange.SendAsync(ExtProcMessages.RequestBody(Chat(), endOfStream: true));

        var frame = await exchange.Call.ReadFrameAsync(s_timeout) ?? throw new InvalidOperationException("no reply");
        Assert.Equal([7], TopLevelFields(frame.Payload.ToArray()).Where(f => f is >= 1 and <= 7 or 11).ToArray());
        Assert.Equal(503, (int)ProcessingResponse.Parser.ParseFrom(frame.Payload.Span).ImmediateResponse.Status.Code);
        await exchange.CompleteAsync();
        Assert.Null(await exchange.Call.ReadFrameAsync(s_timeout));
        Assert.True((await exchange.GetStatusAsync(s_timeout)).IsOk);

        await AssertPickedAtOnceAsync(client);
    }

    [Fact]
    public async Task UnexpectedMessagesPackedTogether_NoReplyToThemCallFailsServerServes()
    {
        // One gRPC write carrying a whole request phase and then what Envoy never sends: a second
        // request_headers, a body after end_of_stream and a response body with no response headers.
        using var client = new EnvoyExtProcClient(_server.ExtProcAddress);
        await using var exchange = await client.StartAsync();
        var packed = GrpcFraming.Concat(
            GrpcFraming.Encode(ExtProcMessages.FullDuplexRequestHeaders()),
            GrpcFraming.Encode(ExtProcMessages.RequestBody(Chat(), endOfStream: true)),
            GrpcFraming.Encode(ExtProcMessages.FullDuplexRequestHeaders()),
            GrpcFraming.Encode(ExtProcMessages.RequestBody(Chat(), endOfStream: true)),
            GrpcFraming.Encode(ExtProcMessages.ResponseBody("data: x\n\n"u8, endOfStream: false)));
        await exchange.Call.SendRawAsync(packed);

        var replies = new List<ProcessingResponse>();
        while (await exchange.ReadAsync(s_timeout) is { } reply)
        {
            replies.Add(reply);
        }

        var status = await exchange.GetStatusAsync(s_timeout);
        var transcript = string.Join(Environment.NewLine, replies.Select(ExtProcFormatting.Summarize)) + Environment.NewLine + status;

        // At most the first request phase is answered (headers, then its body); nothing for the rest.
        Assert.True(replies.Count <= 2, transcript);
        Assert.All(replies, r => Assert.True(r.ResponseCase is ProcessingResponse.ResponseOneofCase.RequestHeaders or ProcessingResponse.ResponseOneofCase.RequestBody, transcript));
        Assert.False(status.IsOk, transcript);
        _server.EnsureRunning();
        await AssertPickedAtOnceAsync(client);
    }

    private static byte[] Chat() => Encoding.UTF8.GetBytes(
        $$"""{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"{{Guid.NewGuid():N}}"}],"stream":true}""");

    private static async Task ReadRequestDirectionAsync(ExtProcExchange exchange)
    {
        var request = new DirectionTranscript(ExtProcDirection.Request, bodySent: true, trailersSent: false);
        while (!request.IsComplete)
        {
            var reply = await exchange.ReadRequiredAsync(s_timeout);
            Assert.Null(reply.ImmediateResponse);
            request.Add(reply);
        }
    }

    /// <summary>A whole exchange is picked within a few seconds: no slot is held by an earlier stream.</summary>
    private async Task AssertPickedAtOnceAsync(EnvoyExtProcClient client)
    {
        var started = DateTime.UtcNow;
        var result = (await client.RunFullDuplexAsync(
            new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [Chat()] },
            new FullDuplexPhase { Headers = ExtProcMessages.ResponseHeaders(200, [new("content-type", "text/event-stream")]), BodyChunks = ["data: [DONE]\n\n"u8.ToArray()] },
            timeout: TimeSpan.FromSeconds(20))).EnsureValid();
        Assert.Null(result.ImmediateResponse);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5), $"the pick took {DateTime.UtcNow - started}: a slot leaked{Environment.NewLine}{_server.Diagnostics}");
        _server.EnsureRunning();
    }

    private static List<int> TopLevelFields(byte[] message)
    {
        var fields = new List<int>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            fields.Add(WireFormat.GetTagFieldNumber(tag));
            input.SkipLastField();
        }

        return fields;
    }

    private static Metadata SubsetHint(params string[] endpoints)
    {
        var metadata = new Metadata();
        metadata.FilterMetadata["envoy.lb.subset_hint"] = new Struct
        {
            Fields = { ["x-gateway-destination-endpoint-subset"] = Value.ForList([.. endpoints.Select(Value.ForString)]) },
        };
        return metadata;
    }
}
