using Microsoft.Extensions.Logging.Abstractions;
using Runtime.Bbr.Mappings;
using Runtime.ControlPlane.Reconcile;
using Runtime.ControlPlane.World;
using Runtime.EndpointPicker.Requests;
using Runtime.Endpoints;
using Runtime.FlowControl;
using Runtime.Host.ControlPlane;
using Runtime.Plugins.Saturation;
using Xunit;

namespace Runtime.Host.Tests.ControlPlane;

/// <summary>The reconcile functions publish a round's topology into the real data-plane holders.</summary>
public sealed class DataPlaneWorkflowTests : IAsyncDisposable
{
    private readonly WorldCache _cache = new();
    private readonly EndpointStore _store = new();
    private readonly ObjectivePriorities _objectives = new();
    private readonly ModelRewriteRules _rewrites = new();
    private readonly Gate _gate = new();
    private readonly FlowController _flowControl;
    private readonly BaseModelMappingSource _baseModels = new(BaseModelMappings.Empty);
    private readonly Reconciler _reconciler;

    public DataPlaneWorkflowTests()
    {
        _flowControl = new FlowController(new FlowControlOptions(), new FlowControlDependencies { SaturationDetector = _gate });
        var targets = new DataPlaneTargets(_store, _objectives, _rewrites) { FlowControl = _flowControl, BaseModels = _baseModels };
        _cache.RegisterSource("test");
        _reconciler = new Reconciler(_cache, PoolSelection.ForPool("pool"), DataPlaneWorkflow.Create(targets, _cache, NullLogger.Instance), NullLogger.Instance);
    }

    [Fact]
    public void NothingPublished_UntilEverySourceSynced()
    {
        Apply(Pool(), Pod("a", "10.0.0.1"));
        Assert.False(_reconciler.ReconcileOnce());
        Assert.Equal(0, _store.Current.Count);

        _cache.ReportSynced("test", DateTimeOffset.UtcNow);
        Assert.True(_reconciler.ReconcileOnce());
        Assert.Equal(["a-rank-0"], _store.Current.Endpoints.Select(e => e.Endpoint.Name));
        Assert.True(_reconciler.Status.Ready);
    }

    [Fact]
    public void EndpointsObjectivesRewritesAndBaseModels_Published()
    {
        Synced();
        Apply(
            Pool(),
            Pod("a", "10.0.0.1"),
            Pod("b", "10.0.0.2"),
            new InferenceObjectiveResource(Meta("premium"), 10, new PoolReference(PoolReference.DefaultGroup, "pool")),
            new InferenceModelRewriteResource(Meta("canary"), new PoolReference(PoolReference.DefaultGroup, "pool"), new ValueList<ModelRewriteRule>([
                new ModelRewriteRule(new ValueList<string>(["chat"]), new ValueList<WeightedModel>([new WeightedModel("chat-v2", 1)])),
                new ModelRewriteRule(ValueList<string>.Empty, new ValueList<WeightedModel>([new WeightedModel("base", 1)])),
            ])),
            new ConfigMapResource(Meta("llama", [new("inference.networking.k8s.io/bbr-managed", "true")]), ValueDictionary.From([new("baseModel", "meta/llama"), new("adapters", "- sql-lora\n- chat-lora\n")])));
        _reconciler.ReconcileOnce();

        Assert.Equal(["10.0.0.1:8000", "10.0.0.2:8000"], _store.Current.Endpoints.Select(e => e.Endpoint.HostPort));
        Assert.Equal(10, _objectives.GetPriority("premium"u8));
        Assert.Contains(10, _flowControl.Priorities);
        Assert.True(_rewrites.TryRewrite("chat", out var chat));
        Assert.Equal("chat-v2", chat);
        Assert.True(_rewrites.TryRewrite("anything-else", out var fallback));
        Assert.Equal("base", fallback);
        Assert.True(_baseModels.Current.TryGetBaseModel("sql-lora", out var baseModel));
        Assert.Equal("meta/llama", baseModel);
        Assert.Null(_reconciler.Status.LastError);
    }

    [Fact]
    public void PodChurn_KeepsLiveStateOfEndpointsThatStay()
    {
        Synced();
        Apply(Pool(), Pod("a", "10.0.0.1"), Pod("b", "10.0.0.2"));
        _reconciler.ReconcileOnce();
        var stayer = _store.Current.Endpoints.Single(e => e.Endpoint.Name == "a-rank-0");
        var leaver = _store.Current.Endpoints.Single(e => e.Endpoint.Name == "b-rank-0");

        _cache.Upsert(Pod("b", "10.0.0.2", ready: false));
        _cache.Upsert(Pod("c", "10.0.0.3"));
        _reconciler.ReconcileOnce();

        Assert.Equal(["a-rank-0", "c-rank-0"], _store.Current.Endpoints.Select(e => e.Endpoint.Name));
        Assert.Same(stayer, _store.Current.Endpoints[0]);
        Assert.True(leaver.IsRetired);
    }

    [Fact]
    public async Task BandOfADeletedObjective_DrainsThenGoes()
    {
        Synced();
        Apply(Pool(), new InferenceObjectiveResource(Meta("batch"), 7, new PoolReference(PoolReference.DefaultGroup, "pool")));
        _reconciler.ReconcileOnce();
        Assert.Contains(7, _flowControl.Priorities);

        // A request waits in band 7 while the pool is saturated.
        _gate.Saturation = 1.0;
        var waiting = _flowControl.EnqueueAndWaitAsync(new FlowControlRequest("tenant", 7, 100, TimeSpan.FromSeconds(30))).AsTask();

        _cache.Delete(new ResourceKey(ResourceKind.InferenceObjective, "default", "batch"));
        _reconciler.ReconcileOnce();
        Assert.Contains(_flowControl.GetStats().Bands, b => b.Priority == 7 && b.IsDraining);

        // Capacity frees: the queued request still dispatches, then the empty band goes.
        _gate.Saturation = 0;
        _flowControl.NotifyCapacityChanged();
        Assert.Equal(FlowControlOutcome.Dispatched, (await waiting.WaitAsync(TimeSpan.FromSeconds(10))).Outcome);
        Assert.DoesNotContain(7, _flowControl.Priorities);
    }

    [Fact]
    public void BadBaseModelConfigMap_Reported_GoodOnesStillPublished()
    {
        Synced();
        Apply(
            Pool(),
            new ConfigMapResource(Meta("good", [new("inference.networking.k8s.io/bbr-managed", "true")]), ValueDictionary.From([new("baseModel", "m"), new("adapters", "- a")])),
            new ConfigMapResource(Meta("bad", [new("inference.networking.k8s.io/bbr-managed", "true")]), ValueDictionary.From([new("adapters", "- b")])));
        _reconciler.ReconcileOnce();

        Assert.True(_baseModels.Current.TryGetBaseModel("a", out _));
        Assert.Contains("ConfigMap default/bad", _reconciler.Status.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public void BaseModelConfigMapTurnsInvalid_KeepsItsLastGoodMappings()
    {
        Synced();
        KeyValuePair<string, string>[] managed = [new("inference.networking.k8s.io/bbr-managed", "true")];
        Apply(Pool(), new ConfigMapResource(Meta("llama", managed), ValueDictionary.From([new("baseModel", "m"), new("adapters", "- a")])));
        _reconciler.ReconcileOnce();

        Apply(new ConfigMapResource(Meta("llama", managed), ValueDictionary.From([new("baseModel", " "), new("adapters", "- a\n- b")])));
        _reconciler.ReconcileOnce();

        Assert.True(_baseModels.Current.TryGetBaseModel("a", out var baseModel));
        Assert.Equal("m", baseModel);
        Assert.False(_baseModels.Current.TryGetBaseModel("b", out _));
        Assert.Contains("ConfigMap default/llama: a bbr-managed ConfigMap needs data.baseModel; keeping its previous mappings", _reconciler.Status.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public void PoolDeleted_EndpointsGo_NotReady()
    {
        Synced();
        Apply(Pool(), Pod("a", "10.0.0.1"));
        _reconciler.ReconcileOnce();
        Assert.True(_reconciler.Status.Ready);

        _cache.Delete(new ResourceKey(ResourceKind.InferencePool, "default", "pool"));
        _reconciler.ReconcileOnce();

        Assert.Equal(0, _store.Current.Count);
        Assert.False(_reconciler.Status.Ready);
        Assert.Equal("the InferencePool was not found", _reconciler.Status.LastError);
    }

    private void Synced() => _cache.ReportSynced("test", DateTimeOffset.UtcNow);

    private void Apply(params Resource[] resources)
    {
        foreach (var resource in resources)
        {
            _cache.Upsert(resource);
        }
    }

    private static ResourceMeta Meta(string name, IEnumerable<KeyValuePair<string, string>>? labels = null) =>
        new("default", name) { Labels = ValueDictionary.From(labels) };

    private static InferencePoolResource Pool() =>
        new(Meta("pool"), PoolReference.DefaultGroup, ValueDictionary.From([new("app", "vllm")]), new ValueList<int>([8000]));

    private static PodResource Pod(string name, string ip, bool ready = true) =>
        new(Meta(name, [new("app", "vllm")]), ip, ready);

    public async ValueTask DisposeAsync()
    {
        await _reconciler.DisposeAsync();
        await _flowControl.DisposeAsync();
        _baseModels.Dispose();
    }

    private sealed class Gate : ISaturationDetector
    {
        private double _saturation;

        public double Saturation
        {
            get => Volatile.Read(ref _saturation);
            set => Volatile.Write(ref _saturation, value);
        }

        public double GetSaturation() => Saturation;
    }
}
