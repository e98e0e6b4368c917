using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Runtime.Bbr.Mappings;
using Runtime.ControlPlane.Kubernetes;
using Runtime.ControlPlane.Kubernetes.Access;
using Runtime.ControlPlane.Manifests;
using Runtime.ControlPlane.Reconcile;
using Runtime.ControlPlane.World;
using Runtime.EndpointPicker.Requests;
using Runtime.Endpoints;
using Runtime.FlowControl;
using Runtime.Host.ControlPlane;
using Runtime.Plugins.Saturation;
using Runtime.TestSupport.Kubernetes;
using Xunit;
using Xunit.Abstractions;

namespace Runtime.Host.Tests.ControlPlane;

/// <summary>
/// Model-based: random sequences of resource changes go through a real source (the Kubernetes
/// list/watch client against the fake API server, with watch expiries and disconnects thrown in,
/// or a manifests directory rewritten by atomic renames) into the real reconcile loop and data
/// plane. Whatever the path, the data plane must end equal to what an independent oracle computes
/// from the final world alone.
/// </summary>
public sealed class ModelBasedReconcileTests(ITestOutputHelper output)
{
    private const string Ns = "ml";
    private static readonly TimeSpan s_converge = TimeSpan.FromSeconds(30);

    public static TheoryData<int> Seeds => [.. Enumerable.Range(1, 6)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task KubernetesSource_RandomChurn_EndsInTheFinalWorldsState(int seed)
    {
        var random = new Random(seed);
        await using var api = await FakeKubeApiServer.StartAsync();
        await using var plane = new Plane();
        var options = WorldSources.KubernetesOptions(new Runtime.Host.Serve.ServeOptions(), PoolSelection.ForPool("pool", Ns)) with
        {
            InitialBackoff = TimeSpan.FromMilliseconds(20),
            MaxBackoff = TimeSpan.FromMilliseconds(200),
        };
        await using var source = new KubernetesSource(new KubernetesAccess(api.Url), options, plane.Cache, NullLogger<KubernetesSource>.Instance);
        var model = new WorldModel();
        for (var step = 0; step < 40; step++)
        {
            Apply(api, model.RandomChange(random));
        }

        source.Start();
        plane.Start();
        for (var step = 0; step < 150; step++)
        {
            Apply(api, model.RandomChange(random));
            switch (random.Next(40))
            {
                case 0:
                    api.Compact();
                    api.DropWatches();
                    break;
                case 1:
                    api.CloseWatches();
                    break;
                case 2:
                    api.FailNextRequests(2);
                    break;
                case 3:
                    await Task.Delay(random.Next(30));
                    break;
            }
        }

        await plane.AssertConvergesAsync(model, output);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task ManifestSource_RandomChurn_EndsInTheFinalWorldsState(int seed)
    {
        var random = new Random(seed);
        var dir = Directory.CreateTempSubdirectory("model-manifests-").FullName;
        try
        {
            await using var plane = new Plane();
            using var source = new ManifestDirectorySource(dir, plane.Cache, new ManifestSourceOptions { DefaultNamespace = Ns, Debounce = TimeSpan.FromMilliseconds(20), RescanInterval = TimeSpan.FromMilliseconds(500) }, NullLogger<ManifestDirectorySource>.Instance);
            var model = new WorldModel();
            source.Start();
            plane.Start();
            for (var step = 0; step < 120; step++)
            {
                Write(dir, model.RandomChange(random));
                if (random.Next(10) == 0)
                {
                    await Task.Delay(random.Next(40));
                }
            }

            if (model.DanglingObjectives)
            {
                Write(dir, model.CreatePool(random));
            }

            await plane.AssertConvergesAsync(model, output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task BurstOfAThousandPodEventsThroughTheWatch_AHandfulOfRounds()
    {
        await using var api = await FakeKubeApiServer.StartAsync();
        await using var plane = new Plane();
        var random = new Random(7);
        var model = new WorldModel();
        Apply(api, model.CreatePool(random));
        var options = WorldSources.KubernetesOptions(new Runtime.Host.Serve.ServeOptions(), PoolSelection.ForPool("pool", Ns));
        await using var source = new KubernetesSource(new KubernetesAccess(api.Url), options, plane.Cache, NullLogger<KubernetesSource>.Instance);
        source.Start();
        plane.Start();
        await plane.AssertConvergesAsync(model, output);
        await api.WaitForWatchesAsync(options.Kinds.Count, s_converge);
        var roundsBefore = plane.Status.Rounds;
        var clock = System.Diagnostics.Stopwatch.StartNew();

        for (var i = 0; i < 1000; i++)
        {
            Apply(api, model.ReadyPod(i));
        }

        await plane.AssertConvergesAsync(model, output);
        var rounds = plane.Status.Rounds - roundsBefore;
        output.WriteLine($"1,000 pod events → {rounds} reconcile rounds, published in {clock.ElapsedMilliseconds} ms");
        Assert.InRange(rounds, 1, 30);

        // Figures only (not asserted; the machine is shared): one event's way from the API server to the data plane.
        var latencies = new List<double>();
        for (var i = 1000; i < 1020; i++)
        {
            clock.Restart();
            Apply(api, model.ReadyPod(i));
            while (!plane.HasEndpoint($"burst-{i}-rank-0") && clock.Elapsed < s_converge)
            {
                await Task.Yield();
            }

            latencies.Add(clock.Elapsed.TotalMilliseconds);
        }

        await plane.AssertConvergesAsync(model, output);
        latencies.Sort();
        output.WriteLine($"one pod event to published endpoints: median {latencies[10]:F1} ms, max {latencies[^1]:F1} ms");
    }

    private static void Apply(FakeKubeApiServer api, Change change)
    {
        if (change.Json is null)
        {
            api.Delete(change.ApiVersion, change.Kind, Ns, change.Name);
        }
        else
        {
            api.Apply(change.Json.ToJsonString());
        }
    }

    private static void Write(string dir, Change change)
    {
        var file = Path.Combine(dir, $"{change.Kind}-{change.Name}.json".ToLowerInvariant());
        if (change.Json is null)
        {
            File.Delete(file);
            return;
        }

        var temp = Path.Combine(dir, ".tmp-" + Path.GetFileName(file));
        File.WriteAllText(temp, change.Json.ToJsonString());
        File.Move(temp, file, overwrite: true);
    }

    /// <summary>One change to the world: an object's new JSON, or its deletion (null).</summary>
    private sealed record Change(string ApiVersion, string Kind, string Name, JsonObject? Json);

    /// <summary>The model: the objects that should exist, and an oracle for the data plane they imply.</summary>
    private sealed class WorldModel
    {
        private readonly Dictionary<string, JsonObject> _pods = [];
        private readonly Dictionary<string, int> _objectives = [];
        private string? _poolApp;
        private int[] _poolPorts = [];

        public Change RandomChange(Random random)
        {
            var roll = random.Next(100);
            if (roll < 8)
            {
                // The pool: created, reshaped, or (rarely) deleted.
                if (_poolApp is not null && random.Next(4) == 0)
                {
                    _poolApp = null;
                    return new Change("inference.networking.k8s.io/v1", "InferencePool", "pool", null);
                }

                return CreatePool(random);
            }

            if (roll < 25)
            {
                var name = $"objective-{random.Next(6)}";
                if (_objectives.ContainsKey(name) && random.Next(3) == 0)
                {
                    _objectives.Remove(name);
                    return new Change("inference.networking.x-k8s.io/v1alpha2", "InferenceObjective", name, null);
                }

                var priority = random.Next(-3, 12);
                _objectives[name] = priority;
                return new Change("inference.networking.x-k8s.io/v1alpha2", "InferenceObjective", name, new JsonObject
                {
                    ["apiVersion"] = "inference.networking.x-k8s.io/v1alpha2",
                    ["kind"] = "InferenceObjective",
                    ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = Ns },
                    ["spec"] = new JsonObject { ["priority"] = priority, ["poolRef"] = new JsonObject { ["name"] = "pool" } },
                });
            }

            var pod = $"pod-{random.Next(25)}";
            if (_pods.ContainsKey(pod) && random.Next(4) == 0)
            {
                _pods.Remove(pod);
                return new Change("v1", "Pod", pod, null);
            }

            var json = new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Pod",
                ["metadata"] = new JsonObject { ["name"] = pod, ["namespace"] = Ns, ["labels"] = new JsonObject { ["app"] = random.Next(5) == 0 ? "sglang" : "vllm" } },
                ["status"] = new JsonObject
                {
                    ["podIP"] = random.Next(10) == 0 ? "" : $"10.0.{random.Next(3)}.{random.Next(1, 200)}",
                    ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = random.Next(4) == 0 ? "False" : "True" }),
                },
            };
            _pods[pod] = json;
            return new Change("v1", "Pod", pod, json);
        }

        /// <summary>Creates or reshapes the pool.</summary>
        public Change CreatePool(Random random)
        {
            _poolApp = random.Next(3) == 0 ? "sglang" : "vllm";
            _poolPorts = [.. Enumerable.Range(0, random.Next(1, 3)).Select(i => 8000 + i)];
            var ports = new JsonArray([.. _poolPorts.Select(p => (JsonNode)new JsonObject { ["number"] = p })]);
            return new Change("inference.networking.k8s.io/v1", "InferencePool", "pool", new JsonObject
            {
                ["apiVersion"] = "inference.networking.k8s.io/v1",
                ["kind"] = "InferencePool",
                ["metadata"] = new JsonObject { ["name"] = "pool", ["namespace"] = Ns },
                ["spec"] = new JsonObject { ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = _poolApp } }, ["targetPorts"] = ports },
            });
        }

        /// <summary>A ready pod that the current pool selects.</summary>
        public Change ReadyPod(int i)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"burst-{i}");
            var json = new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Pod",
                ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = Ns, ["labels"] = new JsonObject { ["app"] = _poolApp } },
                ["status"] = new JsonObject
                {
                    ["podIP"] = string.Create(CultureInfo.InvariantCulture, $"10.9.{i / 250}.{(i % 250) + 1}"),
                    ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True" }),
                },
            };
            _pods[name] = json;
            return new Change("v1", "Pod", name, json);
        }

        /// <summary>A manifests directory rejects objectives whose pool is missing, so a final world must keep its pool.</summary>
        public bool DanglingObjectives => _poolApp is null && _objectives.Count > 0;

        /// <summary>Endpoints the final world implies, as "name=ip:port" — computed here, not by the code under test.</summary>
        public SortedSet<string> ExpectedEndpoints()
        {
            var expected = new SortedSet<string>(StringComparer.Ordinal);
            if (_poolApp is null)
            {
                return expected;
            }

            foreach (var (name, pod) in _pods)
            {
                var ip = (string?)pod["status"]!["podIP"];
                var ready = (string?)pod["status"]!["conditions"]![0]!["status"] == "True";
                if (ready && !string.IsNullOrEmpty(ip) && (string?)pod["metadata"]!["labels"]!["app"] == _poolApp)
                {
                    for (var rank = 0; rank < _poolPorts.Length; rank++)
                    {
                        expected.Add(string.Create(CultureInfo.InvariantCulture, $"{name}-rank-{rank}={ip}:{_poolPorts[rank]}"));
                    }
                }
            }

            return expected;
        }

        public SortedDictionary<string, int> ExpectedObjectives() => _poolApp is null ? [] : new(_objectives, StringComparer.Ordinal);

        public SortedSet<int> ExpectedBands() => _poolApp is null ? [0] : [0, .. _objectives.Values];
    }

    /// <summary>The real reconcile loop publishing into real data-plane holders.</summary>
    private sealed class Plane : IAsyncDisposable
    {
        private readonly EndpointStore _store = new();
        private readonly ObjectivePriorities _objectives = new();
        private readonly FlowController _flowControl = new(new FlowControlOptions(), new FlowControlDependencies { SaturationDetector = NeverSaturatedDetector.Instance });
        private readonly Reconciler _reconciler;

        public Plane()
        {
            var targets = new DataPlaneTargets(_store, _objectives, new ModelRewriteRules()) { FlowControl = _flowControl, BaseModels = new BaseModelMappingSource(BaseModelMappings.Empty) };
            _reconciler = new Reconciler(Cache, PoolSelection.ForPool("pool", Ns), DataPlaneWorkflow.Create(targets, Cache, NullLogger.Instance), NullLogger.Instance);
        }

        public WorldCache Cache { get; } = new();

        public ControlPlaneStatus Status => _reconciler.Status;

        public bool HasEndpoint(string name) => _store.Current.Endpoints.Any(e => e.Endpoint.Name == name);

        public void Start() => _reconciler.Start();

        public async Task AssertConvergesAsync(WorldModel model, ITestOutputHelper output)
        {
            var deadline = DateTime.UtcNow + s_converge;
            string describe;
            while (true)
            {
                var endpoints = new SortedSet<string>(_store.Current.Endpoints.Select(e => $"{e.Endpoint.Name}={e.Endpoint.HostPort}"), StringComparer.Ordinal);
                var objectives = new SortedDictionary<string, int>(_objectives.Current.ToDictionary(), StringComparer.Ordinal);
                var bands = new SortedSet<int>(_flowControl.Priorities);
                var same = endpoints.SetEquals(model.ExpectedEndpoints()) && objectives.SequenceEqual(model.ExpectedObjectives()) && bands.SetEquals(model.ExpectedBands());
                describe = $"endpoints [{string.Join(' ', endpoints)}] vs [{string.Join(' ', model.ExpectedEndpoints())}]; objectives [{string.Join(' ', objectives)}] vs [{string.Join(' ', model.ExpectedObjectives())}]; bands [{string.Join(',', bands)}] vs [{string.Join(',', model.ExpectedBands())}]; status {_reconciler.Status}";
                if (same)
                {
                    output.WriteLine($"converged after {_reconciler.Status.Rounds} rounds: {model.ExpectedEndpoints().Count} endpoints, {model.ExpectedObjectives().Count} objectives");
                    return;
                }

                Assert.True(DateTime.UtcNow < deadline, "did not converge: " + describe);
                await Task.Delay(2);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _reconciler.DisposeAsync();
            await _flowControl.DisposeAsync();
        }
    }
}
