using System.Globalization;
using System.Text;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.EndToEnd.Tests.Otlp;
using Runtime.Simulation;
using OtlpSpan = Runtime.EndToEnd.Tests.Otlp.Span;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// <c>--tracing</c> through the AOT binary: spans reach an OTLP/gRPC collector configured the
/// way the GIE charts configure it (<c>OTEL_TRACES_EXPORTER=otlp</c>,
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>), with Go's service and span names, continuing the trace of
/// the request's <c>traceparent</c>; unsampled requests and <c>--tracing=false</c> export nothing.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class TracingTests : IAsyncLifetime
{
    private const string Model = SimulatorOptions.DefaultModel;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(15);

    private FakeOtlpCollector _collector = null!;

    public async Task InitializeAsync() => _collector = await FakeOtlpCollector.StartAsync();

    public async Task DisposeAsync() => await _collector.DisposeAsync();

    [Fact]
    public async Task Serve_SampledRequestsExportGoShapedSpansInTheCallersTrace_OthersNothing()
    {
        await using var farm = await SimulatorFarm.StartAsync(1, new SimulatorOptions());
        var bbrPort = TestPorts.GetFreeTcpPort();
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve",
        [
            "--endpoints", farm[0].Address,
            "--bbr-grpc-port", bbrPort.ToString(CultureInfo.InvariantCulture),
            "--bbr-grpc-health-port", TestPorts.GetFreeTcpPort().ToString(CultureInfo.InvariantCulture),
        ],
        // The chart's variables, with the ratio at 0: only a caller's sampled trace is recorded.
        Otlp(new() { ["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio", ["OTEL_TRACES_SAMPLER_ARG"] = "0" }));
        using var picker = new EnvoyExtProcClient(server.ExtProcAddress);
        await farm.WaitForScrapesAsync(1, TimeSpan.FromSeconds(20));

        var (sampled, rejected, unsampled, bodyRouted) = (NewTraceId(), NewTraceId(), NewTraceId(), NewTraceId());
        const string CallerSpan = "00f067aa0ba902b7";

        var routed = await ExchangeAsync(picker, Chat(Model), TraceParent(sampled, CallerSpan, sampledFlag: true));
        var notSampled = await ExchangeAsync(picker, Chat(Model), TraceParent(unsampled, CallerSpan, sampledFlag: false));
        await ExchangeAsync(picker, Chat(Model), traceParent: null);
        var bad = await ExchangeAsync(picker, "{not json"u8.ToArray(), TraceParent(rejected, CallerSpan, sampledFlag: true), upstream: false);
        Assert.NotNull(bad.ImmediateResponse);
        using (var bbr = new EnvoyExtProcClient(new Uri($"http://127.0.0.1:{bbrPort}")))
        {
            await ExchangeAsync(bbr, Chat(Model), TraceParent(bodyRouted, CallerSpan, sampledFlag: true));
        }

        // The picker's request span, in the caller's trace, under Go's names.
        var request = Assert.Single(await _collector.WaitForAsync(s => s.TraceId == sampled && s.Span.Name == "gateway.request"));
        Assert.Equal("gateway-api-inference-extension/epp", request.ServiceName);
        Assert.Equal("gateway-api-inference-extension/epp/extproc", request.Scope);
        Assert.Equal(OtlpSpan.Types.SpanKind.Server, request.Span.Kind);
        Assert.Equal(CallerSpan, request.ParentSpanId);
        Assert.NotEqual(Status.Types.StatusCode.Error, request.Span.Status?.Code ?? Status.Types.StatusCode.Unset);

        // Its orchestration child carries Go's attributes.
        var orchestration = Assert.Single(await _collector.WaitForAsync(s => s.TraceId == sampled && s.Span.Name == "gateway.request_orchestration"));
        Assert.Equal(request.SpanId, orchestration.ParentSpanId);
        Assert.Equal(Model, orchestration.Attribute("target_model"));
        Assert.Equal("0", orchestration.Attribute("request_prio"));

        // The model server gets the picker's span as its parent.
        Assert.Equal($"00-{sampled}-{request.SpanId}-01", SetHeader(routed, "traceparent"));
        Assert.Null(SetHeader(notSampled, "traceparent"));

        // A rejected request's span says why.
        var failed = (await _collector.WaitForAsync(s => s.TraceId == rejected && s.Span.Name == "gateway.request")).Single();
        Assert.Equal(Status.Types.StatusCode.Error, failed.Span.Status.Code);
        Assert.StartsWith("inference error: BadRequest", failed.Span.Status.Message, StringComparison.Ordinal);

        // The body-based router beside the picker: its own scope, same process (service).
        var routedByBbr = Assert.Single(await _collector.WaitForAsync(s => s.TraceId == bodyRouted));
        Assert.Equal("gateway-api-inference-extension/bbr/extproc", routedByBbr.Scope);
        Assert.Equal("gateway.request", routedByBbr.Span.Name);

        // Nothing else: not the unsampled caller's request, not the one without a trace (ratio 0).
        await Task.Delay(1000);
        Assert.All(_collector.Spans, s => Assert.Contains(s.TraceId, new[] { sampled, rejected, bodyRouted }));
        server.EnsureRunning();
    }

    [Fact]
    public async Task Bbr_NewTraceUnderItsServiceName_AndTracingFalseExportsNothing()
    {
        await using (var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("bbr", ["--streaming"], Otlp(new() { ["OTEL_TRACES_SAMPLER"] = "always_on" })))
        {
            using var client = new EnvoyExtProcClient(server.ExtProcAddress);
            var result = await ExchangeAsync(client, Chat(Model), traceParent: null);
            Assert.Null(SetHeader(result, "traceparent"));

            var span = Assert.Single(await _collector.WaitForAsync(_ => true));
            Assert.Equal("gateway-api-inference-extension/bbr", span.ServiceName);
            Assert.Equal("gateway.request", span.Span.Name);
            Assert.True(span.Span.ParentSpanId.IsEmpty);
            Assert.Contains("Tracing: spans of service \"gateway-api-inference-extension/bbr\" go to the OTLP collector at " + _collector.Endpoint, server.Process.Output, StringComparison.Ordinal);
        }

        var before = _collector.Spans.Count;
        await using (var off = await BinaryRuntimeServer.StartFromEnvironmentAsync("bbr", ["--streaming", "--tracing=false"], Otlp(new() { ["OTEL_TRACES_SAMPLER"] = "always_on" })))
        {
            using var client = new EnvoyExtProcClient(off.ExtProcAddress);
            await ExchangeAsync(client, Chat(Model), TraceParent(NewTraceId(), "00f067aa0ba902b7", sampledFlag: true));
            await Task.Delay(1500);
            Assert.DoesNotContain("Tracing:", off.Process.Output, StringComparison.Ordinal);
        }

        Assert.Equal(before, _collector.Spans.Count);
    }

    [Fact]
    public async Task NoExporterSet_SpansGoToStdoutAsInGo_AndABadSamplerIsReported()
    {
        var trace = NewTraceId();
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("bbr", ["--streaming"], new Dictionary<string, string?>
        {
            ["OTEL_TRACES_EXPORTER"] = null,
            ["OTEL_SERVICE_NAME"] = "my-router",
            ["OTEL_TRACES_SAMPLER"] = "sometimes",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        });
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await ExchangeAsync(client, Chat(Model), TraceParent(trace, "00f067aa0ba902b7", sampledFlag: true));

        // OpenTelemetry's console exporter: one block per span, its resource after it.
        await server.Process.WaitForOutputAsync("service.name: my-router", s_timeout);
        var stdout = server.Process.StandardOutput;
        Assert.Matches($@"Activity\.TraceId:\s+{trace}\s", stdout);
        Assert.Matches(@"Activity\.DisplayName:\s+gateway\.request\s", stdout);
        Assert.Contains("Name: gateway-api-inference-extension/bbr/extproc", stdout, StringComparison.Ordinal);
        Assert.Contains("unsupported sampler type: sometimes, fallback to parentbased_traceidratio with 0.1 Ratio", server.Process.Output, StringComparison.Ordinal);
        Assert.Empty(_collector.Spans);
    }

    [Theory]
    [InlineData("serve")]
    [InlineData("bbr")]
    public async Task TracingFlag_NotABool_RefusedInOneLine(string command)
    {
        await using var process = RuntimeProcess.Start(Environment.GetEnvironmentVariable(BinaryRuntimeServer.BinaryVariable)!, [command, "--tracing=maybe"]);

        Assert.Equal(2, await process.WaitForExitAsync(s_timeout));
        Assert.Contains("tracing", process.StandardError, StringComparison.Ordinal);
        Assert.Single(process.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>What the GIE chart sets with tracing on, pointed at the fake collector, plus a short batch delay.</summary>
    private Dictionary<string, string?> Otlp(Dictionary<string, string?> more)
    {
        var environment = new Dictionary<string, string?>
        {
            ["OTEL_TRACES_EXPORTER"] = "otlp",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = _collector.Endpoint,
            ["OTEL_SERVICE_NAME"] = null,
            ["OTEL_TRACES_SAMPLER"] = null,
            ["OTEL_TRACES_SAMPLER_ARG"] = null,
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        };
        foreach (var (key, value) in more)
        {
            environment[key] = value;
        }

        return environment;
    }

    private static string NewTraceId() => Guid.NewGuid().ToString("N");

    private static string TraceParent(string traceId, string spanId, bool sampledFlag) => $"00-{traceId}-{spanId}-{(sampledFlag ? "01" : "00")}";

    private static byte[] Chat(string model) =>
        Encoding.UTF8.GetBytes($$"""{"model":"{{model}}","messages":[{"role":"user","content":"hello"}]}""");

    /// <param name="upstream">False for a request the picker rejects: no response phase follows.</param>
    private static async Task<FullDuplexResult> ExchangeAsync(EnvoyExtProcClient client, byte[] body, string? traceParent, bool upstream = true)
    {
        KeyValuePair<string, string>[] headers = traceParent is null
            ? [.. ExtProcMessages.DefaultRequestHeaders]
            : [.. ExtProcMessages.DefaultRequestHeaders, new("traceparent", traceParent)];
        var request = new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(headers: headers), BodyChunks = [body] };
        var response = new FullDuplexPhase { Headers = ExtProcMessages.ResponseHeaders(), BodyChunks = ["""{"choices":[]}"""u8.ToArray()] };
        return upstream
            ? (await client.RunFullDuplexAsync(request, response, timeout: s_timeout)).EnsureValid()
            : (await client.RunFullDuplexAsync(request, timeout: s_timeout)).EnsureValid();
    }

    private static string? SetHeader(FullDuplexResult result, string name) =>
        result.Request.HeadersResponse?.RequestHeaders.Response?.HeaderMutation?.SetHeaders
            .Where(h => h.Header.Key == name).Select(h => ExtProcMessages.HeaderValueText(h.Header)).SingleOrDefault();
}
