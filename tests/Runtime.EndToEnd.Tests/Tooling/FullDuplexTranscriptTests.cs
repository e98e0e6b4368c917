using Google.Protobuf;

namespace Runtime.EndToEnd.Tests.Tooling;

[Trait("Category", "Tooling")]
public sealed class FullDuplexTranscriptTests
{
    [Fact]
    public void Add_WellOrderedResponses_NoViolationsAndBodyReassembled()
    {
        var transcript = new DirectionTranscript(ExtProcDirection.Request, bodySent: true, trailersSent: true);

        transcript.Add(Headers());
        transcript.Add(Body("ab", eos: false));
        transcript.Add(Body("cd", eos: true));
        transcript.Add(Trailers());

        Assert.Empty(transcript.Violations);
        Assert.True(transcript.IsComplete);
        Assert.Equal("abcd"u8.ToArray(), transcript.StreamedBody);
    }

    [Fact]
    public void Add_BodyBeforeHeaders_ReportsViolation()
    {
        var transcript = new DirectionTranscript(ExtProcDirection.Request, bodySent: true, trailersSent: false);

        transcript.Add(Body("ab", eos: true));
        transcript.Add(Headers());

        Assert.Contains(transcript.Violations, v => v.Contains("before the headers response", StringComparison.Ordinal));
        Assert.Contains(transcript.Violations, v => v.Contains("not the first", StringComparison.Ordinal));
    }

    [Fact]
    public void Add_TwoEndOfStreamChunks_ReportsViolation()
    {
        var transcript = new DirectionTranscript(ExtProcDirection.Request, bodySent: true, trailersSent: false);

        transcript.Add(Headers());
        transcript.Add(Body("a", eos: true));
        transcript.Add(Body("b", eos: true));

        Assert.Contains(transcript.Violations, v => v.Contains("after the end_of_stream chunk", StringComparison.Ordinal));
    }

    [Fact]
    public void Add_ChunkLargerThanLimit_ReportsViolation()
    {
        var transcript = new DirectionTranscript(ExtProcDirection.Request, bodySent: true, trailersSent: false, maxChunkBytes: 4);

        transcript.Add(Headers());
        transcript.Add(Body("12345", eos: true));

        Assert.Contains(transcript.Violations, v => v.Contains("exceeds 4", StringComparison.Ordinal));
    }

    [Fact]
    public void Add_TrailersBeforeEndOfStream_ReportsViolation()
    {
        var transcript = new DirectionTranscript(ExtProcDirection.Request, bodySent: true, trailersSent: true);

        transcript.Add(Headers());
        transcript.Add(Trailers());
        transcript.Add(Body("a", eos: true));

        Assert.Contains(transcript.Violations, v => v.Contains("before the end_of_stream body response", StringComparison.Ordinal));
        Assert.Contains(transcript.Violations, v => v.Contains("after the trailers response", StringComparison.Ordinal));
    }

    [Fact]
    public void Violations_BodySentButNoEndOfStream_ReportsMissingEndAndIncomplete()
    {
        var transcript = new DirectionTranscript(ExtProcDirection.Request, bodySent: true, trailersSent: false);

        transcript.Add(Headers());
        transcript.Add(Body("a", eos: false));

        Assert.False(transcript.IsComplete);
        Assert.Contains(transcript.Violations, v => v.Contains("no streamed_response carried end_of_stream", StringComparison.Ordinal));
    }

    [Fact]
    public void Add_BufferedStyleBodyMutation_ReportsNothingForwarded()
    {
        var transcript = new DirectionTranscript(ExtProcDirection.Request, bodySent: true, trailersSent: false);
        var replaced = new ProcessingResponse
        {
            RequestBody = new BodyResponse { Response = new CommonResponse { BodyMutation = new BodyMutation { Body = ByteString.CopyFromUtf8("x") } } },
        };

        transcript.Add(Headers());
        transcript.Add(replaced);

        Assert.Contains(transcript.Violations, v => v.Contains("not streamed_response", StringComparison.Ordinal));
    }

    [Fact]
    public void Add_OtherDirection_Throws()
    {
        var transcript = new DirectionTranscript(ExtProcDirection.Response, bodySent: false, trailersSent: false);

        Assert.Throws<ArgumentException>(() => transcript.Add(Headers()));
    }

    [Fact]
    public void EnsureValid_NotOkStatus_ThrowsWithTranscript()
    {
        var transcript = new DirectionTranscript(ExtProcDirection.Request, bodySent: false, trailersSent: false);
        transcript.Add(Headers());
        var result = new FullDuplexResult([Headers()], transcript, null, null, [],
            new GrpcCallStatus(System.Net.HttpStatusCode.OK, GrpcStatusCode.Internal, "boom", GrpcStatusSource.Trailers, null));

        var error = Assert.Throws<ExtProcProtocolViolationException>(() => result.EnsureValid());

        Assert.Contains("Internal", error.Message, StringComparison.Ordinal);
        Assert.Contains("RequestHeaders", error.Message, StringComparison.Ordinal);
    }

    private static ProcessingResponse Headers() => new() { RequestHeaders = new HeadersResponse { Response = new CommonResponse() } };

    private static ProcessingResponse Trailers() => new() { RequestTrailers = new TrailersResponse() };

    private static ProcessingResponse Body(string text, bool eos) => new()
    {
        RequestBody = new BodyResponse
        {
            Response = new CommonResponse
            {
                BodyMutation = new BodyMutation { StreamedResponse = new StreamedBodyResponse { Body = ByteString.CopyFromUtf8(text), EndOfStream = eos } },
            },
        },
    };
}
