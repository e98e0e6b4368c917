using Microsoft.Extensions.Time.Testing;
using Runtime.Configuration.Loading;
using Runtime.Configuration.Model;
using Runtime.Endpoints;
using Runtime.Plugins;
using Runtime.Plugins.Activation;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.Saturation;
using Runtime.Scheduling.Pickers;
using Runtime.Scheduling.Plugins;
using Runtime.Scheduling.Saturation;
using Runtime.Scheduling.Scorers;
using Runtime.Scheduling.Tests.Support;

namespace Runtime.Scheduling.Tests;

public class SchedulerTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly EndpointStore _store = new();

    private (EndpointPickerConfig Config, IReadOnlyDictionary<string, IPlugin> Plugins) Load(string? yaml = null)
    {
        var registry = BuiltInPlugins.CreateBuilder().UseSchedulingFactories().Build();
        Assert.Empty(registry.Errors);
        var loader = new EndpointPickerConfigLoader(registry.Registry);
        var loaded = yaml is null ? loader.LoadDefault() : loader.LoadText("apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n" + yaml, "test");
        Assert.True(loaded.IsValid, string.Join("; ", loaded.Errors.Select(e => e.Message)));
        var config = loaded.Config!;
        var specs = config.Plugins.Select((p, i) => new PluginInstanceSpec(p.Name!, p.Type!, p.Parameters ?? default, $"plugins[{i}]"));
        var activation = PluginActivator.Activate(registry.Registry, specs, new PluginServices { TimeProvider = _time }.Add(_store));
        Assert.Empty(activation.Errors);
        return (config, activation.Plugins);
    }

    private EndpointState[] Pool(int count)
    {
        _store.Publish(Enumerable.Range(0, count).Select(i => new Endpoint($"pod-{i}", $"10.0.0.{i + 1}", 8000)));
        return _store.Current.Endpoints;
    }

    /// <summary>The default config over three endpoints: pod-1 idle, pod-2 busy, pod-0 busiest in queue.</summary>
    private (IScheduler Scheduler, EndpointState[] Pool) DefaultSchedulerOverLoadedPool()
    {
        var (config, plugins) = Load();
        var scheduler = Scheduler.Create(config, plugins).Scheduler!;
        var pool = Pool(3);
        pool[0].With(_time, waiting: 4, kv: 0.5);
        pool[1].With(_time, waiting: 0, kv: 0.1);
        pool[2].With(_time, waiting: 2, kv: 0.9);
        return (scheduler, pool);
    }

    [Fact]
    public void Create_DefaultConfig_QueueKvPrefixWeightsAndMaxScorePicker()
    {
        var (config, plugins) = Load();
        var built = Scheduler.Create(config, plugins);
        Assert.True(built.IsValid, string.Join("; ", built.Errors));
        var scheduler = (Scheduler)built.Scheduler!;
        var profile = Assert.Single(scheduler.Profiles);
        Assert.Equal(
            [("queue-scorer", 2.0), ("kv-cache-utilization-scorer", 2.0), ("prefix-cache-scorer", 3.0)],
            profile.Scorers.Select(s => (s.Scorer.TypeName, s.Weight)).ToArray());
        Assert.IsType<MaxScorePicker>(profile.Picker);
        Assert.Equal(MetricKinds.WaitingQueue | MetricKinds.KvCacheUsage | MetricKinds.CacheInfo, scheduler.RequiredMetrics);
    }

    [Fact]
    public void Schedule_DefaultConfig_PicksLeastLoadedThenFollowsPrefix()
    {
        var (scheduler, pool) = DefaultSchedulerOverLoadedPool();
        var request = TestEndpoints.Request(TestEndpoints.LongPrompt(42));
        var result = new SchedulingResult();
        result.Reset();
        scheduler.Schedule(request, pool, result);
        Assert.Equal(SchedulingStatus.Picked, result.Status);
        Assert.Same(pool[1], result.Primary);

        // pod-1 now holds the prompt: 3 × 1.0 of prefix outweighs a somewhat longer queue there.
        pool[0].With(_time, waiting: 1, kv: 0.2);
        pool[1].With(_time, waiting: 3, kv: 0.3);
        pool[2].With(_time, waiting: 2, kv: 0.2);
        result.Reset();
        scheduler.Schedule(request, pool, result);
        Assert.Same(pool[1], result.Primary);

        // A different prompt has no affinity: least loaded wins again.
        result.Reset();
        scheduler.Schedule(TestEndpoints.Request(TestEndpoints.LongPrompt(43)), pool, result);
        Assert.Same(pool[0], result.Primary);
    }

    [Fact]
    public void Schedule_RecordScores_EveryCandidatesWeightedTotalBeforeThePick_OffByDefault()
    {
        var (scheduler, pool) = DefaultSchedulerOverLoadedPool();
        var result = new SchedulingResult();
        result.Reset();
        scheduler.Schedule(TestEndpoints.Request(TestEndpoints.LongPrompt(77)), pool, result);
        Assert.Equal(0, result.ScoredCandidates.Length);

        result.Reset();
        result.RecordScores = true;
        scheduler.Schedule(TestEndpoints.Request(TestEndpoints.LongPrompt(78)), pool, result);

        var scores = result.ScoredCandidates.ToArray().Zip(result.Scores.ToArray()).ToDictionary(p => p.First.Endpoint.Name, p => p.Second);
        Assert.Equal(["pod-0", "pod-1", "pod-2"], scores.Keys.Order());
        // queue ×2 and kv ×2 (no prefix hit yet): the idle pod-1 scores highest and is the one picked.
        Assert.Equal(scores.Values.Max(), scores["pod-1"]);
        Assert.Same(pool[1], result.Primary);
        Assert.All(scores.Values, v => Assert.InRange(v, 0, 7));
    }

    [Fact]
    public void Schedule_NoCandidates_NoEndpoints()
    {
        var (config, plugins) = Load();
        var result = new SchedulingResult();
        Scheduler.Create(config, plugins).Scheduler!.Schedule(new SchedulingRequest(), [], result);
        Assert.Equal(SchedulingStatus.NoEndpoints, result.Status);
    }

    [Fact]
    public void Schedule_ConcurrencyFilterDropsAll_AllFiltered()
    {
        var (config, plugins) = Load("""
            plugins:
            - type: concurrency-detector
              parameters: {maxConcurrency: 1}
            - type: queue-scorer
            - type: max-score-picker
              parameters: {maxNumOfEndpoints: 2}
            schedulingProfiles:
            - name: default
              plugins:
              - pluginRef: concurrency-detector
              - pluginRef: queue-scorer
              - pluginRef: max-score-picker
            """);
        var scheduler = Scheduler.Create(config, plugins).Scheduler!;
        var pool = Pool(3);
        pool[0].AddInFlight(1);
        var result = new SchedulingResult();
        result.Reset();
        scheduler.Schedule(new SchedulingRequest(), pool, result);
        Assert.Equal(2, result.Count);
        Assert.DoesNotContain(pool[0], result.Picked.ToArray());
        pool[1].AddInFlight(1);
        pool[2].AddInFlight(1);
        result.Reset();
        scheduler.Schedule(new SchedulingRequest(), pool, result);
        Assert.Equal(SchedulingStatus.AllFiltered, result.Status);
    }

    [Fact]
    public void Create_ProfileWithoutPicker_GetsMaxScorePickerAsGie()
    {
        var config = new EndpointPickerConfig(SchedulingProfiles: [new SchedulingProfileConfig("p", [new SchedulingPluginRef { PluginRef = "q" }])]);
        var built = Scheduler.Create(config, new Dictionary<string, IPlugin> { ["q"] = new QueueScorer("q") });
        Assert.True(built.IsValid);
        Assert.IsType<MaxScorePicker>(((Scheduler)built.Scheduler!).Profiles[0].Picker);
        Assert.Equal(1.0, ((Scheduler)built.Scheduler!).Profiles[0].Scorers[0].Weight);
    }

    [Fact]
    public void Create_BadReferences_ReportsEveryProblem()
    {
        var config = new EndpointPickerConfig(SchedulingProfiles:
        [
            new SchedulingProfileConfig("a", [new SchedulingPluginRef { PluginRef = "missing" }, new SchedulingPluginRef { PluginRef = "handler" }]),
            new SchedulingProfileConfig("b", [new SchedulingPluginRef { PluginRef = "m1" }, new SchedulingPluginRef { PluginRef = "m2" }]),
        ]);
        var plugins = new Dictionary<string, IPlugin>
        {
            ["handler"] = new Profiles.SingleProfileHandler("handler"),
            ["m1"] = new MaxScorePicker("m1"),
            ["m2"] = new RandomPicker("m2"),
        };
        var built = Scheduler.Create(config, plugins);
        Assert.False(built.IsValid);
        Assert.Contains(built.Errors, e => e.Contains("\"missing\"", StringComparison.Ordinal));
        Assert.Contains(built.Errors, e => e.Contains("two pickers", StringComparison.Ordinal));

        // A profile member that is no filter, scorer or picker is skipped, as GIE's loader does (the validator warns).
        Assert.Equal(2, built.Errors.Count);
    }

    [Fact]
    public void Create_SingleHandlerWithTwoProfiles_Rejected()
    {
        var config = new EndpointPickerConfig(SchedulingProfiles: [new SchedulingProfileConfig("a"), new SchedulingProfileConfig("b")]);
        var built = Scheduler.Create(config, new Dictionary<string, IPlugin> { ["h"] = new Profiles.SingleProfileHandler("h") });
        Assert.Contains(built.Errors, e => e.Contains("exactly one scheduling profile", StringComparison.Ordinal));
    }

    [Fact]
    public void SaturationDetectorSelector_DefaultConfig_UtilizationDetectorPlugin()
    {
        var (config, plugins) = Load();
        var selection = SaturationDetectorSelector.Select(config, plugins, _store, _time);
        Assert.IsType<UtilizationDetector>(selection.Detector);
        Assert.Same(plugins["utilization-detector"], selection.Detector);
        Assert.Equal(1.0, selection.Detector!.GetSaturation());
    }

    [Fact]
    public void SaturationDetectorSelector_LegacyInlineThresholds_Honoured()
    {
        var (config, plugins) = Load("""
            plugins:
            - type: queue-scorer
            saturationDetector:
              queueDepthThreshold: 10
              kvCacheUtilThreshold: 0.5
            """);
        var pool = Pool(1);
        pool[0].With(_time, waiting: 5, kv: 0.1);
        var detector = SaturationDetectorSelector.Select(config, plugins, _store, _time).Detector!;
        Assert.Equal(0.5, detector.GetSaturation(), 6);

        // Without the loader's injection the selector builds the same detector itself.
        var bare = new EndpointPickerConfig { SaturationDetector = new SaturationDetectorConfig { QueueDepthThreshold = 10, KvCacheUtilThreshold = 0.5 } };
        Assert.Equal(0.5, SaturationDetectorSelector.Select(bare, new Dictionary<string, IPlugin>(), _store, _time).Detector!.GetSaturation(), 6);
    }

    [Fact]
    public void SaturationDetectorSelector_RefToNonDetector_Error()
    {
        var config = new EndpointPickerConfig { SaturationDetector = new SaturationDetectorConfig { PluginRef = "q" } };
        var selection = SaturationDetectorSelector.Select(config, new Dictionary<string, IPlugin> { ["q"] = new QueueScorer("q") }, _store);
        Assert.False(selection.IsValid);
        Assert.Contains("not a saturation detector", selection.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Factories_DetectorWithoutEndpointStore_ClearError()
    {
        var registry = BuiltInPlugins.CreateBuilder().UseSchedulingFactories().Build().Registry;
        var activation = PluginActivator.Activate(registry, [new PluginInstanceSpec("u", "utilization-detector", default, "plugins[0]")], new PluginServices());
        Assert.Contains(activation.Errors, e => e.Message.Contains("EndpointStore", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Schedule_ManyThreadsWhileSnapshotChanges_NoExceptionsAndPicksFromCandidates()
    {
        var (config, plugins) = Load();
        var scheduler = Scheduler.Create(config, plugins).Scheduler!;
        Pool(20);
        var prompts = Enumerable.Range(0, 16).Select(i => TestEndpoints.LongPrompt(i, 1024 + (i * 100))).ToArray();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var failures = 0;
        var picks = 0L;
        var publisher = Task.Run(() =>
        {
            var round = 0;
            while (!stop.IsCancellationRequested)
            {
                var size = 5 + (round++ % 20);
                _store.Publish(Enumerable.Range(round % 7, size).Select(i => new Endpoint($"pod-{i}", $"10.0.1.{i + 1}", 8000)));
                foreach (var state in _store.Current.Endpoints)
                {
                    state.With(_time, waiting: round % 5, kv: (round % 10) / 10.0);
                }
            }
        });
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            var result = new SchedulingResult();
            var i = w;
            while (!stop.IsCancellationRequested)
            {
                var candidates = _store.Current.Endpoints;
                result.Reset();
                try
                {
                    scheduler.Schedule(TestEndpoints.Request(prompts[i++ % prompts.Length]), candidates, result);
                    if (candidates.Length > 0 && (result.Status != SchedulingStatus.Picked || Array.IndexOf(candidates, result.Primary) < 0))
                    {
                        Interlocked.Increment(ref failures);
                    }

                    Interlocked.Increment(ref picks);
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })).ToArray();
        await Task.WhenAll([publisher, .. workers]);
        Assert.Equal(0, failures);
        Assert.True(picks > 100, $"only {picks} picks");
    }
}
