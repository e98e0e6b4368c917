using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Runtime.ExtProc.Stream;
using Runtime.Proto.Envoy.Service.ExtProc.V3;
using Runtime.TestSupport.ExtProc;
using TestGrpcStatus = Runtime.TestSupport.Grpc.GrpcStatusCode;

namespace Runtime.ExtProc.Tests.Stream;

/// <summary>
/// The <c>gateway.request</c> span of each ext_proc stream, through real Kestrel HTTP/2: which
/// requests get one, whose trace it continues, what it tells the model server, how it ends.
/// Each test listens to its own ActivitySource, so they can run beside each other.
/// </summary>
public sealed class ExtProcTracingTests : IDisposable
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string ParentSpanId = "00f067aa0ba902b7";

    private readonly ActivitySource _source = new("runtime-tests-" + Guid.NewGuid().ToString("N"));
    private readonly ActivityListener _listener;
    private readonly ConcurrentQueue<Activity> _ended = new();

    public ExtProcTracingTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => ReferenceEquals(source, _source),
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _ended.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _source.Dispose();
    }

    [Fact]
    public async Task SampledTraceparent_SpanContinuesTheTraceAndTheHeadersReplyCarriesIt()
    {
        await using var server = await StartAsync(new PassThroughProcessor(), new TraceSampling(ParentBased: true, Ratio: 0));

        var result = await ExchangeAsync(server, $"00-{TraceId}-{ParentSpanId}-01", traceState: "vendor=abc");

        var span = Assert.Single(await EndedAsync(1));
        Assert.Equal(ExtProcTracing.RequestSpanName, span.OperationName);
        Assert.Equal(ActivityKind.Server, span.Kind);
        Assert.Equal(TraceId, span.TraceId.ToHexString());
        Assert.Equal(ParentSpanId, span.ParentSpanId.ToHexString());
        Assert.Equal("vendor=abc", span.TraceStateString);
        Assert.True(span.Recorded);
        Assert.Equal(ActivityStatusCode.Unset, span.Status);
        Assert.Equal($"00-{TraceId}-{span.SpanId.ToHexString()}-01", SetHeader(result.Request.HeadersResponse!, "traceparent"));
    }

    [Fact]
    public async Task UnsampledTraceparent_ParentBased_NoSpanAndNoHeader()
    {
        await using var server = await StartAsync(new PassThroughProcessor(), new TraceSampling(ParentBased: true, Ratio: 1));

        var result = await ExchangeAsync(server, $"00-{TraceId}-{ParentSpanId}-00");

        await AssertNoSpanAsync();
        Assert.Null(SetHeader(result.Request.HeadersResponse!, "traceparent"));
    }

    [Theory]
    [InlineData(1.0, true)]
    [InlineData(0.0, false)]
    public async Task NoTraceparent_TheRatioDecidesAndANewTraceStarts(double ratio, bool traced)
    {
        await using var server = await StartAsync(new PassThroughProcessor(), new TraceSampling(ParentBased: true, ratio));

        await ExchangeAsync(server, traceParent: null);

        if (traced)
        {
            var span = Assert.Single(await EndedAsync(1));
            Assert.Equal(default, span.ParentSpanId);
            Assert.NotEqual(default, span.TraceId);
        }
        else
        {
            await AssertNoSpanAsync();
        }
    }

    [Fact]
    public async Task TraceIdRatio_NotParentBased_IgnoresTheParentsFlagButKeepsItsTrace()
    {
        await using var server = await StartAsync(new PassThroughProcessor(), new TraceSampling(ParentBased: false, Ratio: 1));

        await ExchangeAsync(server, $"00-{TraceId}-{ParentSpanId}-00");

        var span = Assert.Single(await EndedAsync(1));
        Assert.Equal(TraceId, span.TraceId.ToHexString());
    }

    [Fact]
    public async Task MalformedTraceparent_TreatedAsAbsent_NewTrace()
    {
        await using var server = await StartAsync(new PassThroughProcessor(), new TraceSampling(ParentBased: true, Ratio: 1));

        await ExchangeAsync(server, $"00-{TraceId.ToUpperInvariant()}-{ParentSpanId}-01");

        var span = Assert.Single(await EndedAsync(1));
        Assert.NotEqual(TraceId, span.TraceId.ToHexString());
        Assert.Equal(default, span.ParentSpanId);
    }

    [Fact]
    public async Task BodyRouterStyle_NoPropagation_HeadersReplyUntouched()
    {
        await using var server = await StartAsync(new PassThroughProcessor(), new TraceSampling(ParentBased: true, Ratio: 1), propagateUpstream: false);

        var result = await ExchangeAsync(server, $"00-{TraceId}-{ParentSpanId}-01");

        Assert.Single(await EndedAsync(1));
        Assert.Null(SetHeader(result.Request.HeadersResponse!, "traceparent"));
    }

    [Fact]
    public async Task ImmediateResponse_SpanEndsInErrorWithTheReplyBody()
    {
        await using var server = await StartAsync(new SingleHandlerProcessor(new RejectingHandler()), new TraceSampling(ParentBased: true, Ratio: 1));
        await using (var exchange = await server.Client.StartAsync())
        {
            await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders(headers: Traced($"00-{TraceId}-{ParentSpanId}-01")));
            Assert.Equal(429, (int)(await exchange.ReadRequiredAsync()).ImmediateResponse.Status.Code);
            Assert.True((await exchange.GetStatusAsync()).IsOk);
        }

        var span = Assert.Single(await EndedAsync(1));
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal("inference error: TooManyRequests - shed", span.StatusDescription);
    }

    [Fact]
    public async Task ProtocolViolation_SpanEndsInErrorWithTheReason()
    {
        await using var server = await StartAsync(new PassThroughProcessor(), new TraceSampling(ParentBased: true, Ratio: 1));
        await using (var exchange = await server.Client.StartAsync())
        {
            await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders(headers: Traced($"00-{TraceId}-{ParentSpanId}-01")));
            await exchange.SendAsync(ExtProcMessages.RequestBody("{}"u8, endOfStream: true));
            await exchange.SendAsync(ExtProcMessages.RequestBody("{}"u8, endOfStream: true));
            Assert.Equal(TestGrpcStatus.InvalidArgument, (await exchange.GetStatusAsync()).Code);
        }

        var span = Assert.Single(await EndedAsync(1));
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Contains("request_body after the body ended", span.StatusDescription, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(200, ActivityStatusCode.Unset)]
    [InlineData(503, ActivityStatusCode.Error)]
    public async Task UpstreamStatus_Not200MarksTheSpanModelServerError(int status, ActivityStatusCode expected)
    {
        await using var server = await StartAsync(new PassThroughProcessor(), new TraceSampling(ParentBased: true, Ratio: 1));

        await ExchangeAsync(server, $"00-{TraceId}-{ParentSpanId}-01", upstreamStatus: status);

        var span = Assert.Single(await EndedAsync(1));
        Assert.Equal(expected, span.Status);
        Assert.Equal(expected == ActivityStatusCode.Error ? "ModelServerError" : null, span.StatusDescription);
    }

    [Fact]
    public async Task TracingOff_NoSpanEvenForASampledParent()
    {
        await using var server = await ExtProcTestServer.StartAsync(new PassThroughProcessor());

        var result = await ExchangeAsync(server, $"00-{TraceId}-{ParentSpanId}-01");

        await AssertNoSpanAsync();
        Assert.Null(SetHeader(result.Request.HeadersResponse!, "traceparent"));
    }

    [Theory]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true)]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true)]
    [InlineData("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future", true)]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", false)]
    [InlineData("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false)]
    [InlineData("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false)]
    [InlineData("00-00000000000000000000000000000000-00f067aa0ba902b7-01", false)]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false)]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0", false)]
    [InlineData("00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01", false)]
    [InlineData("", false)]
    public void Traceparent_W3CValidity(string value, bool valid) =>
        Assert.Equal(valid, ExtProcTracing.IsValidTraceParent(Encoding.ASCII.GetBytes(value)));

    private Task<ExtProcTestServer> StartAsync(IExtProcProcessor processor, TraceSampling sampling, bool propagateUpstream = true) =>
        ExtProcTestServer.StartAsync(processor, options: new ExtProcOptions { Tracing = new ExtProcTracing(_source, sampling, propagateUpstream) });

    private static KeyValuePair<string, string>[] Traced(string? traceParent, string? traceState = null) =>
    [
        .. ExtProcMessages.DefaultRequestHeaders,
        .. traceParent is null ? [] : new KeyValuePair<string, string>[] { new("traceparent", traceParent) },
        .. traceState is null ? [] : new KeyValuePair<string, string>[] { new("tracestate", traceState) },
    ];

    private static async Task<FullDuplexResult> ExchangeAsync(ExtProcTestServer server, string? traceParent, string? traceState = null, int upstreamStatus = 200)
    {
        var request = new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(headers: Traced(traceParent, traceState)), BodyChunks = ["{}"u8.ToArray()] };
        var response = new FullDuplexPhase { Headers = ExtProcMessages.ResponseHeaders(status: upstreamStatus), BodyChunks = ["{}"u8.ToArray()] };
        return (await server.Client.RunFullDuplexAsync(request, response)).EnsureValid();
    }

    private static string? SetHeader(ProcessingResponse reply, string name) =>
        reply.RequestHeaders.Response?.HeaderMutation?.SetHeaders.Where(h => h.Header.Key == name).Select(h => ExtProcMessages.HeaderValueText(h.Header)).SingleOrDefault();

    /// <summary>The spans ended so far, once there are <paramref name="count"/> (the stream ends just after the call does).</summary>
    private async Task<Activity[]> EndedAsync(int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (_ended.Count < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        return [.. _ended];
    }

    private async Task AssertNoSpanAsync()
    {
        // The span would end with the stream, right after the call; give it the time it would take.
        await Task.Delay(200);
        Assert.Empty(_ended);
    }
}
