using BenchmarkDotNet.Attributes;
using Runtime.ControlPlane.Reconcile;
using Runtime.ControlPlane.World;

namespace Runtime.Benchmarks.ControlPlane;

/// <summary>
/// The control plane's work, off the request path: a watch event landing in the world cache, and
/// one whole reconcile round (diff + topology) over a pool of 1,000 pods × 2 target ports with 50
/// objectives, after one pod changed. Allocation is expected (immutable snapshots); the figures
/// say how many events per second one core absorbs and what a round costs.
/// </summary>
[MemoryDiagnoser]
public class ReconcileRoundBenchmark
{
    private const int Pods = 1000;
    private readonly PoolSelection _selection = PoolSelection.ForPool("pool", "ml");
    private WorldCache _cache = null!;
    private WorldSnapshot _before = null!;
    private WorldSnapshot _after = null!;
    private PodResource[] _flips = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _cache = new WorldCache();
        _cache.Upsert(new InferencePoolResource(Meta("pool"), PoolReference.DefaultGroup, ValueDictionary.From([new("app", "vllm")]), new ValueList<int>([8000, 8001])));
        for (var i = 0; i < 50; i++)
        {
            _cache.Upsert(new InferenceObjectiveResource(Meta($"objective-{i}"), i % 7, new PoolReference(PoolReference.DefaultGroup, "pool")));
        }

        _cache.Replace(ResourceKind.Pod, Enumerable.Range(0, Pods).Select(i => Pod(i, ready: true)));
        _before = _cache.Current;
        _cache.Upsert(Pod(7, ready: false));
        _after = _cache.Current;
        _flips = [.. Enumerable.Range(0, 64).Select(i => Pod(i, ready: i % 2 == 0)), .. Enumerable.Range(0, 64).Select(i => Pod(i, ready: i % 2 != 0))];
    }

    /// <summary>One watch event (a pod's readiness flips) into a 1,000-pod world.</summary>
    [Benchmark]
    public bool WatchEventIntoCache() => _cache.Upsert(_flips[_next++ & 127]);

    /// <summary>Diff of two 1,000-pod worlds that differ by one pod.</summary>
    [Benchmark]
    public int DiffOnePodChanged() => WorldDiff.Compute(_before, _after).Count;

    /// <summary>Topology of the whole world: 2,000 endpoints, 50 objectives.</summary>
    [Benchmark]
    public int BuildTopology() => TopologyBuilder.Build(_after, _selection).Endpoints.Count;

    private static ResourceMeta Meta(string name, string app = "") =>
        new("ml", name) { Labels = app.Length == 0 ? ValueDictionary.Empty : ValueDictionary.From([new("app", app)]) };

    private static PodResource Pod(int i, bool ready) => new(Meta($"pod-{i:D4}", "vllm"), $"10.{i / 250}.{i % 250}.1", ready);
}
