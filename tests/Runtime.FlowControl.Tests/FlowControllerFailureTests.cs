using Microsoft.Extensions.Logging;
using Runtime.FlowControl.Policies;
using Runtime.FlowControl.Tests.Support;
using Runtime.Primitives.Diagnostics;
using Runtime.Telemetry.Prometheus;
using Runtime.TestSupport.Logging;
using Runtime.TestSupport.Metrics;

namespace Runtime.FlowControl.Tests;

/// <summary>A policy bug must not wedge a shard, and must not vanish either: it is logged and counted.</summary>
public sealed class FlowControllerFailureTests
{
    private const string Series = "runtime_swallowed_errors_total{component=\"flow_control\",kind=\"dispatch_cycle\"}";

    private sealed class ThrowingFairnessPolicy : IFairnessPolicy
    {
        public string TypeName => "throwing-fairness-policy";

        public int SelectFlow(ActiveFlowsView flows, ref int cursor) => throw new InvalidOperationException("fairness cursor out of range");
    }

    [Fact]
    public async Task Dispatch_FairnessPolicyThrows_LoggedWithItsShardAndCountedOnTheMetricsPage()
    {
        using var exporter = new PrometheusExporter(new PrometheusExporterOptions { MeterFilter = m => m.Name == RuntimeMeter.Name });
        var before = PrometheusPage.Value(exporter.Render(), Series) ?? 0;
        var logs = new CapturingLoggerProvider();
        var options = new FlowControlOptions { DefaultPriorityBand = new PriorityBandOptions { FairnessPolicy = new ThrowingFairnessPolicy() } };
        await using var controller = new FlowController(options, new FlowControlDependencies { SaturationDetector = new FakeSaturationDetector(10), Logger = logs.Logger });
        using var cancel = new CancellationTokenSource();

        var pending = controller.EnqueueAndWaitAsync(new FlowControlRequest("tenant-a", 0, 100), cancel.Token).AsTask();

        var line = Assert.Single(logs.Entries);
        Assert.Equal(LogLevel.Error, line.Level);
        Assert.Contains("flow_control (dispatch_cycle)", line.Message, StringComparison.Ordinal);
        Assert.Contains("shard 0", line.Message, StringComparison.Ordinal);
        Assert.Equal("fairness cursor out of range", line.Exception?.Message);
        Assert.Equal(1, controller.GetStats().DispatcherErrors);
        // The counter is process-wide: a parallel test may add to it, never take away.
        Assert.InRange(PrometheusPage.Value(exporter.Render(), Series) ?? 0, before + 1, double.MaxValue);

        // The request stayed queued (not lost, not dispatched) and still leaves cleanly.
        Assert.False(pending.IsCompleted);
        await cancel.CancelAsync();
        Assert.Equal(FlowControlOutcome.EvictedCancelled, (await pending.WaitAsync(TimeSpan.FromSeconds(10))).Outcome);
    }
}
