using Microsoft.Extensions.Logging;
using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Kubernetes.Tests;

/// <summary>How failures are logged, and watches with a label selector (the body-based router's ConfigMaps).</summary>
public sealed class KubernetesSourceLoggingAndSelectorTests
{
    private const int SyncFailedEvent = 5105;

    [Fact]
    public async Task Start_SameFailureOnEveryRetry_WarnsOnceThenTracesUntilAListSucceeds()
    {
        await using var h = await SourceHarness.StartAsync(seed: s => s.FailNextRequests(int.MaxValue, 503));

        await SourceHarness.EventuallyAsync(() => h.Log.Count(SyncFailedEvent) >= 4, "several retries");
        h.Server.FailNextRequests(0);
        await h.SyncedAsync();
        var levels = h.Log.Entries.Where(e => e.EventId == SyncFailedEvent).Select(e => e.Level).ToArray();

        Assert.Equal(LogLevel.Warning, levels[0]);
        Assert.All(levels.Skip(1), level => Assert.Equal(LogLevel.Trace, level));

        // After a good list, a failure is news again.
        h.Server.FailNextRequests(1, 500);
        h.Server.DropWatches();
        await SourceHarness.EventuallyAsync(() => h.Log.Entries.Count(e => e.EventId == SyncFailedEvent && e.Level == LogLevel.Warning) == 2, "a second warning");
    }

    [Fact]
    public async Task Watch_LabelSelector_ObjectLeavingAndEnteringItIsDeletedAndAdded()
    {
        const string Managed = "inference.networking.k8s.io/bbr-managed";
        static string ConfigMap(string label) => $$$"""
            {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"llama","namespace":"default","labels":{"{{{Managed}}}":"{{{label}}}"}},"data":{"baseModel":"m"}}
            """;
        var options = SourceHarness.FastOptions(new KubernetesKindOptions(ResourceKind.ConfigMap) { LabelSelector = Managed + "=true" });
        await using var h = await SourceHarness.StartAsync(options, seed: s => s.Apply(ConfigMap("true")));
        await h.WatchingAsync();
        Assert.Single(h.Of(ResourceKind.ConfigMap));

        h.Server.Apply(ConfigMap("false"));
        await SourceHarness.EventuallyAsync(() => h.Of(ResourceKind.ConfigMap).Count == 0, "the unlabelled ConfigMap to go");

        h.Server.Apply(ConfigMap("true"));
        await SourceHarness.EventuallyAsync(() => h.Of(ResourceKind.ConfigMap).Count == 1, "the labelled ConfigMap to come back");
        Assert.Equal(1, h.Server.ListRequests("configmaps"));
    }
}
