using System.Diagnostics;
using Runtime.ControlPlane.Kube;
using Runtime.ControlPlane.Kubernetes.Access;
using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Kubernetes.Tests;

public sealed class KubernetesSourceTests
{
    private const int SyncFailedEvent = 5105;
    private const int SkippedObjectEvent = 5106;
    private const int KindForbiddenEvent = 5109;

    /// <summary>
    /// The GIE v1.5.0 inferencepool chart's Role (config/charts/epplib/templates/_rbac.yaml and
    /// config/charts/inferencepool/templates/rbac.yaml @v1.5.0) grants pods, inferencepools,
    /// inferenceobjectives and inferencemodelrewrites, and no ConfigMaps.
    /// </summary>
    private static readonly HashSet<string> s_chartRole = ["pods", "inferencepools", "inferenceobjectives", "inferencemodelrewrites"];

    [Fact]
    public async Task Start_KindTheRoleDoesNotGrant_SyncsWithoutItLogsOnceAndRetriesLater()
    {
        var options = SourceHarness.FastOptions(new(ResourceKind.Pod), new(ResourceKind.ConfigMap)) with { MaxBackoff = TimeSpan.FromMilliseconds(200) };
        await using var h = await SourceHarness.StartAsync(options, seed: server =>
        {
            server.AllowedResources = s_chartRole;
            server.Apply(KubeObjects.Pod("pod-1", "10.0.0.1"));
        });

        await h.SyncedAsync();
        Assert.Single(h.Of(ResourceKind.Pod));
        Assert.Equal([ResourceKind.ConfigMap], h.Source.ForbiddenKinds);
        await SourceHarness.EventuallyAsync(() => h.Server.ListRequests("configmaps") == 0 && h.Server.Requests > 4, "retries of the forbidden kind");
        Assert.Equal(1, h.Log.Count(KindForbiddenEvent));
        Assert.Equal(0, h.Log.Count(SyncFailedEvent));

        // The Role is widened: the kind is listed on the next retry and stops being reported.
        h.Server.AllowedResources = null;
        await SourceHarness.EventuallyAsync(() => h.Server.ListRequests("configmaps") >= 1 && h.Source.ForbiddenKinds.Count == 0, "the kind listed once granted");
    }

    [Fact]
    public async Task Start_MoreObjectsThanOnePage_ListsEveryPageAndSyncs()
    {
        await using var h = await SourceHarness.StartAsync(seed: server =>
        {
            for (var i = 0; i < 10; i++)
            {
                server.Apply(KubeObjects.Pod($"pod-{i}", $"10.0.0.{i}"));
            }
        });

        await h.SyncedAsync();

        Assert.Equal(10, h.Of(ResourceKind.Pod).Count);
        Assert.Equal("10.0.0.7", h.Pod("pod-7")!.PodIP);
        Assert.Equal(4, h.Server.ListRequests("pods")); // pages of 3: 3+3+3+1
        Assert.True(h.State.Synced);
        Assert.Null(h.State.LastError);
    }

    [Fact]
    public async Task Watch_AddUpdateDelete_CacheFollows()
    {
        await using var h = await SourceHarness.StartAsync(seed: s => s.Apply(KubeObjects.Pod("a", "10.0.0.1")));
        await h.WatchingAsync();

        h.Server.Apply(KubeObjects.Pod("b", "10.0.0.2"));
        await SourceHarness.EventuallyAsync(() => h.Pod("b") is not null, "pod b added");

        h.Server.Apply(KubeObjects.Pod("a", "10.0.0.9", ready: false));
        await SourceHarness.EventuallyAsync(() => h.Pod("a") is { PodIP: "10.0.0.9", Ready: false }, "pod a updated");

        h.Server.Delete("v1", "Pod", "default", "b");
        await SourceHarness.EventuallyAsync(() => h.Pod("b") is null, "pod b deleted");

        Assert.Equal(1, h.Server.ListRequests("pods"));
        Assert.Equal(1, h.Server.WatchRequests("pods"));
    }

    [Fact]
    public async Task Watch_BookmarkThenCleanClose_RewatchesFromBookmarkWithoutRelist()
    {
        await using var h = await SourceHarness.StartAsync(seed: s => s.Apply(KubeObjects.Pod("a", "10.0.0.1")));
        await h.WatchingAsync();

        // Other kinds move the global resourceVersion on; our watch sees none of it until the bookmark.
        h.Server.Apply(KubeObjects.Pool("pool", 8000));
        h.Server.Compact();
        h.Server.SendBookmarks();
        await SourceHarness.EventuallyAsync(() => h.Log.Entries.Any(e => e.Message.Contains("BOOKMARK", StringComparison.Ordinal)), "the bookmark applied");
        h.Server.CloseWatches();
        await SourceHarness.EventuallyAsync(() => h.Server.WatchRequests("pods") == 2 && h.Server.OpenWatches == 1, "a second watch");

        // Without the bookmark the second watch would start from the listed (compacted) version and get 410.
        h.Server.Apply(KubeObjects.Pod("b", "10.0.0.2"));
        await SourceHarness.EventuallyAsync(() => h.Pod("b") is not null, "pod b through the new watch");
        Assert.Equal(1, h.Server.ListRequests("pods"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Watch_GoneWhileAway_RelistsAndLosesNoUpdate(bool goneAsErrorEvent)
    {
        await using var h = await SourceHarness.StartAsync(seed: s =>
        {
            s.Apply(KubeObjects.Pod("a", "10.0.0.1"));
            s.Apply(KubeObjects.Pod("b", "10.0.0.2"));
        });
        await h.WatchingAsync();
        h.Server.GoneAsErrorEvent = goneAsErrorEvent;

        // The watch breaks and stays away; meanwhile objects change and the history is compacted.
        h.Server.FailNextRequests(int.MaxValue);
        h.Server.DropWatches();
        h.Server.Apply(KubeObjects.Pod("a", "10.0.0.11"));
        h.Server.Delete("v1", "Pod", "default", "b");
        h.Server.Apply(KubeObjects.Pod("c", "10.0.0.3"));
        h.Server.Compact();
        h.Server.FailNextRequests(0);

        await SourceHarness.EventuallyAsync(
            () => h.Pod("a") is { PodIP: "10.0.0.11" } && h.Pod("b") is null && h.Pod("c") is not null,
            "the re-list to make the cache whole");
        Assert.Equal(2, h.Server.ListRequests("pods"));
        Assert.Contains(h.Log.Entries, e => e.EventId == 5104);

        // And the new watch works.
        await h.Server.WaitForWatchesAsync(1, SourceHarness.Deadline);
        h.Server.Apply(KubeObjects.Pod("d", "10.0.0.4"));
        await SourceHarness.EventuallyAsync(() => h.Pod("d") is not null, "pod d after the re-list");
    }

    [Fact]
    public async Task Watch_CleanClose_RewatchesWithoutRelist()
    {
        await using var h = await SourceHarness.StartAsync(seed: s => s.Apply(KubeObjects.Pod("a", "10.0.0.1")));
        await h.WatchingAsync();
        h.Server.Apply(KubeObjects.Pod("b", "10.0.0.2"));
        await SourceHarness.EventuallyAsync(() => h.Pod("b") is not null, "pod b");

        h.Server.CloseWatches();
        await SourceHarness.EventuallyAsync(() => h.Server.WatchRequests("pods") == 2, "a second watch");
        h.Server.Apply(KubeObjects.Pod("c", "10.0.0.3"));

        await SourceHarness.EventuallyAsync(() => h.Pod("c") is not null, "pod c");
        Assert.Equal(1, h.Server.ListRequests("pods"));
        Assert.Equal(0, h.Log.Count(SyncFailedEvent));
    }

    [Fact]
    public async Task Watch_DisconnectMidStream_ResumesFromLastVersion()
    {
        await using var h = await SourceHarness.StartAsync(seed: s => s.Apply(KubeObjects.Pod("a", "10.0.0.1")));
        await h.WatchingAsync();

        h.Server.DropWatches();
        h.Server.Apply(KubeObjects.Pod("b", "10.0.0.2"));
        h.Server.Apply(KubeObjects.Pod("a", "10.0.0.5"));

        await SourceHarness.EventuallyAsync(() => h.Pod("b") is not null && h.Pod("a") is { PodIP: "10.0.0.5" }, "the events after the drop");
        Assert.Equal(1, h.Server.ListRequests("pods"));
        Assert.True(h.Server.WatchRequests("pods") >= 2);
    }

    [Fact]
    public async Task Start_ServerErrors_BacksOffReportsThenSyncs()
    {
        var clock = Stopwatch.StartNew();
        await using var h = await SourceHarness.StartAsync(seed: s =>
        {
            s.Apply(KubeObjects.Pod("a", "10.0.0.1"));
            s.FailNextRequests(3);
        });

        await h.SyncedAsync();

        Assert.Equal(3, h.Log.Count(SyncFailedEvent));
        Assert.Contains("500", h.Log.Entries.First(e => e.EventId == SyncFailedEvent).Message, StringComparison.Ordinal);
        // 20 + 40 + 80 ms, each −20 % at worst.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(110), $"only {clock.Elapsed} elapsed");
        Assert.NotNull(h.Pod("a"));
        Assert.Null(h.State.LastError);
    }

    [Fact]
    public async Task Start_ServerDown_ReportsErrorAndStaysUnsynced()
    {
        await using var h = await SourceHarness.StartAsync(seed: s => s.FailNextRequests(int.MaxValue, 503));

        await SourceHarness.EventuallyAsync(() => h.State.LastError is not null, "an error report");

        Assert.False(h.State.Synced);
        Assert.Contains("Pod", h.State.LastError, StringComparison.Ordinal);
        h.Server.FailNextRequests(0);
        await h.SyncedAsync();
    }

    [Fact]
    public async Task Watch_MalformedLine_FailsTheWatchAndTheLoopGoesOn()
    {
        await using var h = await SourceHarness.StartAsync(seed: s => s.Apply(KubeObjects.Pod("a", "10.0.0.1")));
        await h.WatchingAsync();

        h.Server.InjectWatchLine("{\"type\":\"ADDED\",\"object\":{not json");
        h.Server.Apply(KubeObjects.Pod("b", "10.0.0.2"));

        await SourceHarness.EventuallyAsync(() => h.Pod("b") is not null, "pod b after the bad line");
        Assert.Equal(1, h.Log.Count(SyncFailedEvent));
        Assert.Equal(1, h.Server.ListRequests("pods"));
    }

    [Fact]
    public async Task MalformedObject_InListAndWatch_IsSkipped()
    {
        var options = SourceHarness.FastOptions(new KubernetesKindOptions(ResourceKind.InferencePool));
        await using var h = await SourceHarness.StartAsync(options, s =>
        {
            s.Apply(KubeObjects.Pool("good", 8000));
            s.Apply(KubeObjects.BadPool("bad"));
        });
        await h.WatchingAsync();
        Assert.Equal(["good"], h.Of(ResourceKind.InferencePool).Keys.Select(k => k.Name));

        h.Server.Apply(KubeObjects.BadPool("bad-2"));
        h.Server.Apply(KubeObjects.Pool("good-2", 8001));
        await SourceHarness.EventuallyAsync(() => h.Of(ResourceKind.InferencePool).Count == 2, "good-2");

        // An object that turns malformed leaves the cache, as it would on a re-list.
        h.Server.Apply(KubeObjects.BadPool("good"));
        await SourceHarness.EventuallyAsync(() => h.Of(ResourceKind.InferencePool).Count == 1, "good to turn bad");
        Assert.Equal(3, h.Log.Count(SkippedObjectEvent));
        Assert.Equal(0, h.Log.Count(SyncFailedEvent));
        Assert.Equal(1, h.Server.WatchRequests("inferencepools"));
    }

    [Fact]
    public async Task RelistMode_PicksUpChangesWithoutWatching()
    {
        var options = SourceHarness.FastOptions(new KubernetesKindOptions(ResourceKind.Pod) { Mode = KubernetesSyncMode.Relist });
        await using var h = await SourceHarness.StartAsync(options, s => s.Apply(KubeObjects.Pod("a", "10.0.0.1")));
        await h.SyncedAsync();

        h.Server.Apply(KubeObjects.Pod("b", "10.0.0.2"));
        h.Server.Delete("v1", "Pod", "default", "a");

        await SourceHarness.EventuallyAsync(() => h.Pod("b") is not null && h.Pod("a") is null, "the next re-list");
        Assert.Equal(0, h.Server.WatchRequests());
        Assert.True(h.Server.ListRequests("pods") >= 2);
    }

    [Fact]
    public async Task Synced_OnlyOnceEveryKindListed()
    {
        var options = SourceHarness.FastOptions(
            new KubernetesKindOptions(ResourceKind.Pod),
            new KubernetesKindOptions(ResourceKind.InferencePool),
            new KubernetesKindOptions(ResourceKind.InferenceObjective) { Mode = KubernetesSyncMode.Relist });
        await using var h = await SourceHarness.StartAsync(options, s =>
        {
            s.Apply(KubeObjects.Pod("a", "10.0.0.1"));
            s.Apply(KubeObjects.Pool("pool", 8000));
        });

        await h.SyncedAsync();

        Assert.Equal(1, h.Server.ListRequests("pods"));
        Assert.Equal(1, h.Server.ListRequests("inferencepools"));
        Assert.True(h.Server.ListRequests("inferenceobjectives") >= 1);
        Assert.Single(h.Of(ResourceKind.InferencePool));
    }

    [Fact]
    public async Task PoolGroup_Experimental_WatchesV1Alpha2AndKeepsTheGroup()
    {
        var options = SourceHarness.FastOptions(new KubernetesKindOptions(ResourceKind.InferencePool)) with
        {
            PoolGroup = ResourceDecoder.InferenceExperimentalGroup,
        };
        await using var h = await SourceHarness.StartAsync(options, s =>
        {
            s.Apply(KubeObjects.Pool("listed", 8000, "inference.networking.x-k8s.io/v1alpha2"));
            s.Apply(KubeObjects.Pool("other-group", 8000));
        });
        await h.WatchingAsync();
        h.Server.Apply(KubeObjects.Pool("watched", 8001, "inference.networking.x-k8s.io/v1alpha2"));

        await SourceHarness.EventuallyAsync(() => h.Of(ResourceKind.InferencePool).Count == 2, "the watched pool");
        Assert.All(h.Of(ResourceKind.InferencePool).Values, p => Assert.Equal(ResourceDecoder.InferenceExperimentalGroup, ((InferencePoolResource)p).Group));
        Assert.DoesNotContain(h.Of(ResourceKind.InferencePool).Keys, k => k.Name == "other-group");
    }

    private static string Objective(string name, int priority, string apiVersion) => $$$$"""
        {"apiVersion":"{{{{apiVersion}}}}","kind":"InferenceObjective","metadata":{"name":"{{{{name}}}}","namespace":"default"},"spec":{"priority":{{{{priority}}}},"poolRef":{"name":"pool"}}}
        """;

    [Fact]
    public async Task LlmDGroup_ObjectivesFromBothGroups_BothArriveAndEachSyncOwnsItsOwn()
    {
        var options = SourceHarness.FastOptions(
            new KubernetesKindOptions(ResourceKind.InferenceObjective),
            new KubernetesKindOptions(ResourceKind.InferenceObjective) { ApiGroup = ResourceDecoder.LlmDGroup, Optional = true });
        await using var h = await SourceHarness.StartAsync(options, s =>
        {
            s.Apply(Objective("gie", 5, "inference.networking.x-k8s.io/v1alpha2"));
            s.Apply(Objective("llmd", 7, "llm-d.ai/v1alpha2"));
        });
        await h.SyncedAsync();
        await h.Server.WaitForWatchesAsync(2, TimeSpan.FromSeconds(10));

        Assert.Equal(["gie", "llmd"], h.Of(ResourceKind.InferenceObjective).Keys.Select(k => k.Name).Order());
        Assert.Equal(2, h.Server.ListRequests("inferenceobjectives"));

        // A delete in one group leaves the other group's objective alone.
        h.Server.Delete("llm-d.ai/v1alpha2", "InferenceObjective", "default", "llmd");
        await SourceHarness.EventuallyAsync(() => h.Of(ResourceKind.InferenceObjective).Count == 1, "the llm-d objective deleted");
        Assert.Equal("gie", Assert.Single(h.Of(ResourceKind.InferenceObjective).Keys).Name);
    }

    [Fact]
    public async Task LlmDGroup_NotInstalled_SourceStillSyncs()
    {
        await using var h = await SourceHarness.StartAsync(SourceHarness.FastOptions([.. KubernetesSourceOptions.DefaultKinds]), s =>
        {
            s.StopServing(ResourceDecoder.LlmDGroup);
            s.Apply(Objective("gie", 5, "inference.networking.x-k8s.io/v1alpha2"));
        });

        await h.SyncedAsync();

        Assert.Single(h.Of(ResourceKind.InferenceObjective));
        Assert.Null(h.State.LastError);
        Assert.Contains(h.Log.Entries, e => e.Message.Contains("is not served by this cluster", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LabelSelector_OnlyMatchingObjectsArrive()
    {
        var options = SourceHarness.FastOptions(new KubernetesKindOptions(ResourceKind.Pod) { LabelSelector = "app=vllm" });
        await using var h = await SourceHarness.StartAsync(options, s =>
        {
            s.Apply(KubeObjects.Pod("a", "10.0.0.1"));
            s.Apply(KubeObjects.Pod("x", "10.0.0.9", labels: """{"app":"other"}"""));
        });
        await h.WatchingAsync();
        h.Server.Apply(KubeObjects.Pod("y", "10.0.0.8", labels: """{"app":"other"}"""));
        h.Server.Apply(KubeObjects.Pod("b", "10.0.0.2"));

        await SourceHarness.EventuallyAsync(() => h.Pod("b") is not null, "pod b");
        Assert.Equal(["a", "b"], h.Of(ResourceKind.Pod).Keys.Select(k => k.Name).Order());
    }

    [Fact]
    public async Task TokenFile_Rotated_IsReadAgainOn401()
    {
        var directory = Directory.CreateTempSubdirectory("kube-token-");
        try
        {
            var tokenFile = Path.Combine(directory.FullName, "token");
            await File.WriteAllTextAsync(tokenFile, "first\n");
            await using var h = await SourceHarness.StartAsync(
                seed: s =>
                {
                    s.RequiredToken = "first";
                    s.Apply(KubeObjects.Pod("a", "10.0.0.1"));
                },
                access: url => new KubernetesAccess(url) { TokenFile = tokenFile, TokenRefreshInterval = TimeSpan.FromHours(1) });
            await h.WatchingAsync();
            Assert.Equal(0, h.Server.UnauthorizedRequests);

            await File.WriteAllTextAsync(tokenFile, "second\n");
            h.Server.RequiredToken = "second";
            h.Server.CloseWatches();
            h.Server.Apply(KubeObjects.Pod("b", "10.0.0.2"));

            await SourceHarness.EventuallyAsync(() => h.Pod("b") is not null, "pod b with the rotated token");
            Assert.Equal(1, h.Server.UnauthorizedRequests);
            Assert.Equal(0, h.Log.Count(SyncFailedEvent));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Dispose_StopsEveryLoop()
    {
        var h = await SourceHarness.StartAsync(seed: s => s.Apply(KubeObjects.Pod("a", "10.0.0.1")));
        await h.WatchingAsync();

        await h.Source.DisposeAsync();

        await SourceHarness.EventuallyAsync(() => h.Server.OpenWatches == 0, "the watch to close");
        var requests = h.Server.Requests;
        await Task.Delay(100);
        Assert.Equal(requests, h.Server.Requests);
        await h.Server.DisposeAsync();
    }

    [Fact]
    public void Constructor_InvalidOptions_ReportsEveryProblem()
    {
        var options = new KubernetesSourceOptions { PoolGroup = "example.com", PageSize = 0, Kinds = [] };

        var error = Assert.Throws<ArgumentException>(() => new KubernetesSource(new KubernetesAccess(new Uri("http://127.0.0.1:1")), options, new WorldCache()));

        Assert.Contains("PoolGroup", error.Message, StringComparison.Ordinal);
        Assert.Contains("PageSize", error.Message, StringComparison.Ordinal);
        Assert.Contains("Kinds", error.Message, StringComparison.Ordinal);
    }
}
