using Microsoft.Extensions.Logging;
using Runtime.ExtProc.Stream;
using Runtime.Primitives.Diagnostics;
using Runtime.Telemetry.Prometheus;
using Runtime.TestSupport.ExtProc;
using Runtime.TestSupport.Logging;
using Runtime.TestSupport.Metrics;

namespace Runtime.ExtProc.Tests.Stream;

/// <summary>What happens to a processor failure nobody can be told about any more.</summary>
public class ExtProcFailureTests
{
    private const string Series = "runtime_swallowed_errors_total{component=\"ext_proc\",kind=\"after_client_abort\"}";

    [Fact]
    public async Task ProcessorThrowsAfterClientAbort_LoggedOnceWithTheCallAndCountedOnTheMetricsPage()
    {
        using var exporter = new PrometheusExporter(new PrometheusExporterOptions { MeterFilter = m => m.Name == RuntimeMeter.Name });
        var before = PrometheusPage.Value(exporter.Render(), Series) ?? 0;
        var logs = new CapturingLoggerProvider();
        var handler = new ThrowsAfterAbortHandler();
        await using var server = await ExtProcTestServer.StartAsync(new SingleHandlerProcessor(handler), logs: logs);
        var exchange = await server.Client.StartAsync();
        await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
        await handler.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        exchange.Abort();
        await exchange.DisposeAsync();
        await WaitUntilAsync(() => server.Service.ActiveStreams == 0 && logs.Entries.Any(e => e.Exception?.Message == "route table lookup failed"), logs, "the failure was not logged");

        var lines = logs.Entries.Where(e => e.Exception?.Message == "route table lookup failed").ToArray();
        var line = Assert.Single(lines);
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Contains("ext_proc (after_client_abort)", line.Message, StringComparison.Ordinal);
        Assert.Contains("/envoy.service.ext_proc.v3.ExternalProcessor/Process from ", line.Message, StringComparison.Ordinal);
        Assert.Contains("threw after the client went away", line.Message, StringComparison.Ordinal);
        // Grpc.AspNetCore did not log it a second time.
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
        Assert.InRange(PrometheusPage.Value(exporter.Render(), Series) ?? 0, before + 1, double.MaxValue);
    }

    [Fact]
    public async Task ProcessorThrows_AnsweredInternal_LoggedOnceWithTheRequestId()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await ExtProcTestServer.StartAsync(new SingleHandlerProcessor(new ThrowsOnHeadersHandler()), logs: logs);
        await using var exchange = await server.Client.StartAsync();
        await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders(headers: [new("x-request-id", "req-42")]));

        var status = await exchange.GetStatusAsync();
        Assert.Equal(Runtime.TestSupport.Grpc.GrpcStatusCode.Internal, status.Code);
        await WaitUntilAsync(() => logs.Entries.Any(e => e.Exception?.Message == "scorer bug"), logs, "the crash was not logged");

        var line = Assert.Single(logs.Entries, e => e.Level >= LogLevel.Error || e.Exception?.Message == "scorer bug");
        Assert.Equal(LogLevel.Error, line.Level);
        Assert.Contains("x-request-id req-42", line.Message, StringComparison.Ordinal);
    }

    private sealed class ThrowsOnHeadersHandler : ExtProcStreamHandler
    {
        public override ValueTask OnRequestHeadersAsync(ExtProcStream stream) => throw new InvalidOperationException("scorer bug");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CapturingLoggerProvider logs, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, what + "; the log:\n" + string.Join("\n", logs.Entries));
            await Task.Delay(10);
        }
    }
}
