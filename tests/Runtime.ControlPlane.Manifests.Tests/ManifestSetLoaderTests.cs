using Runtime.ControlPlane.Reconcile;
using Runtime.ControlPlane.World;
using static Runtime.ControlPlane.Manifests.Tests.TestFiles;

namespace Runtime.ControlPlane.Manifests.Tests;

public sealed class ManifestSetLoaderTests
{
    [Fact]
    public void Load_MultiDocumentFilesOfAllKinds_DecodesEveryResource()
    {
        using var dir = new TempDirectory();
        dir.Write("pool.yaml", Pool + "\n---\n" + """
            apiVersion: v1
            kind: Pod
            metadata:
              name: pod-a
              labels: {app: vllm}
            status:
              podIP: 10.0.0.7
              conditions: [{type: Ready, status: "True"}]
            """);
        dir.Write("policy.yml", Objective("premium", 10) + "\n---\n" + Objective("batch", -1) + "\n---\n" + """
            apiVersion: inference.networking.x-k8s.io/v1alpha2
            kind: InferenceModelRewrite
            metadata:
              name: aliases
              namespace: default
            spec:
              poolRef: {name: pool}
              rules:
                - matches: [{model: {type: Exact, value: llama}}]
                  targets: [{modelRewrite: meta-llama/Llama-3.1-8B-Instruct}]
            ---
            # a trailing empty document is fine
            """);
        dir.Write("cm.json", """
            {"apiVersion": "v1", "kind": "List", "items": [
              {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bbr", "labels": {"inference.networking.k8s.io/bbr-managed": "true"}},
               "data": {"baseModel": "m", "adapters": "- a"}},
              {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ignored"}}
            ]}
            """);

        var set = ManifestSetLoader.Load(dir.Path, "default");

        Assert.Empty(set.Errors);
        Assert.Equal(3, set.Files);
        var keys = set.Items.Select(i => i.Resource.Key).Order(Comparer<ResourceKey>.Create(ResourceKey.Order)).ToArray();
        Assert.Equal(
            [
                new ResourceKey(ResourceKind.InferencePool, "default", "pool"),
                new ResourceKey(ResourceKind.InferenceObjective, "default", "batch"),
                new ResourceKey(ResourceKind.InferenceObjective, "default", "premium"),
                new ResourceKey(ResourceKind.InferenceModelRewrite, "default", "aliases"),
                new ResourceKey(ResourceKind.Pod, "default", "pod-a"),
                new ResourceKey(ResourceKind.ConfigMap, "default", "bbr"),
            ],
            keys);
        Assert.Equal("Service", Assert.Single(set.Ignored).Kind);
        var batch = set.Items.Single(i => i.Resource.Meta.Name == "batch");
        Assert.Equal(("policy.yml", 10), (batch.File, batch.Line));
    }

    [Fact]
    public void Load_OtherNamespaceAndDotFiles_UsesDefaultNamespaceAndSkipsHiddenAndForeignFiles()
    {
        using var dir = new TempDirectory();
        dir.Write("pool.yaml", Pool);
        dir.Write(".hidden.yaml", "this: [is not valid");
        dir.Write("notes.txt", "not a manifest");
        Directory.CreateDirectory(dir.File("sub.yaml"));

        var set = ManifestSetLoader.Load(dir.Path, "edge");

        Assert.Empty(set.Errors);
        Assert.Equal("edge", Assert.Single(set.Items).Resource.Meta.Namespace);
    }

    [Fact]
    public void LoadText_EndpointList_ExpandsIntoReadyPodsWithLabels()
    {
        var set = ManifestSetLoader.LoadText("eps.yaml", """
            apiVersion: runtime.dev/v1
            kind: EndpointList
            metadata:
              name: gpu
              namespace: edge
            labels:
              app: vllm
            annotations:
              inference.networking.k8s.io/active-ports: "8000"
            addresses: ["10.0.0.1", "10.0.0.2"]
            pods:
              - address: 10.0.0.3
                labels: {zone: b}
              - name: spare
                address: "fd00::4"
                ready: false
                annotations: {inference.networking.k8s.io/active-ports: "8001"}
            """, "default");

        Assert.Empty(set.Errors);
        var pods = set.Items.Select(i => (PodResource)i.Resource).ToArray();
        Assert.Equal(["gpu-0", "gpu-1", "gpu-2", "spare"], pods.Select(p => p.Meta.Name));
        Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.3", "fd00::4"], pods.Select(p => p.PodIP));
        Assert.All(pods, p => Assert.Equal("edge", p.Meta.Namespace));
        Assert.All(pods, p => Assert.Equal("vllm", p.Meta.Labels["app"]));
        Assert.Equal([true, true, true, false], pods.Select(p => p.Ready));
        Assert.Equal("b", pods[2].Meta.Labels["zone"]);
        Assert.Equal("8000", pods[0].Meta.Annotations[TopologyBuilder.ActivePortsAnnotation]);
        Assert.Equal("8001", pods[3].Meta.Annotations[TopologyBuilder.ActivePortsAnnotation]);
        Assert.Equal([10, 10, 12, 14], set.Items.Select(i => i.Line));
    }

    [Fact]
    public void LoadText_EndpointListMistakes_ReportsEachWithItsLine()
    {
        var set = ManifestSetLoader.LoadText("eps.yaml", """
            apiVersion: runtime.dev/v1
            kind: EndpointList
            metadata:
              name: gpu
            adresses: ["10.0.0.1"]
            pods:
              - address: not-an-ip
              - address: 10.0.0.2
                weight: 3
            """, "default");

        Assert.Empty(set.Items);
        Assert.Equal(
            [
                "eps.yaml:5: EndpointList \"gpu\": unknown field \"adresses\" (expected one of apiVersion, kind, metadata, labels, annotations, addresses, pods)",
                "eps.yaml:7: EndpointList \"gpu\": pods[0].address must be an IP address",
                "eps.yaml:9: EndpointList \"gpu\": pods[1]: unknown field \"weight\" (expected one of name, address, labels, annotations, ready)",
            ],
            set.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void LoadText_EndpointListOfAnotherGroup_IsIgnored()
    {
        var set = ManifestSetLoader.LoadText("eps.yaml", "apiVersion: example.com/v1\nkind: EndpointList\nmetadata: {name: x}\n", "default");

        Assert.Empty(set.Errors);
        Assert.Empty(set.Items);
        Assert.Equal("EndpointList", Assert.Single(set.Ignored).Kind);
    }

    [Fact]
    public void Load_InvalidSet_ReportsEveryErrorWithFileAndLine()
    {
        using var dir = new TempDirectory();
        dir.Write("a-pool.yaml", Pool + "\n---\n" + EndpointList("eps", "10.0.0.1"));
        dir.Write("b-objectives.yaml", Objective("premium", 10) + "\n---\n" + Objective("orphan", 1, pool: "nope") + "\n---\n" + """
            apiVersion: inference.networking.x-k8s.io/v1alpha2
            kind: InferenceObjective
            metadata:
              name: typo
            spec:
              priority: high
              poolRef: {name: pool}
            """);
        dir.Write("c-dupes.yaml", Pool);
        dir.Write("d-broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: {a: [1, 2\n");
        dir.Write("e-nokind.json", "{\"apiVersion\": \"v1\",\n \"metadata\": {}");

        var set = ManifestSetLoader.Load(dir.Path, "default");

        Assert.False(set.IsValid);
        Assert.Empty(set.Ignored);
        var errors = set.Errors.Select(e => e.ToString()).ToArray();
        Assert.Contains("b-objectives.yaml:24: InferenceObjective \"typo\": spec.priority must be an integer", errors);
        Assert.Contains(errors, e => e.StartsWith("d-broken.yaml:6: YAML syntax error", StringComparison.Ordinal) && e.Contains("YAML syntax error", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("e-nokind.json:2: JSON syntax error", StringComparison.Ordinal));
        Assert.Contains("c-dupes.yaml:1: duplicate InferencePool \"default/pool\" (first defined at a-pool.yaml:1)", errors);
        Assert.Equal(4, errors.Length);

        // A poolRef to a pool that is not there is not an error (Kubernetes accepts it, Go ignores it).
        Assert.Equal(
            ["b-objectives.yaml:10: InferenceObjective \"default/orphan\": ignored: spec.poolRef names InferencePool \"nope\", which is not in namespace \"default\" of the manifests"],
            set.Warnings.Select(w => w.ToString()));
    }

    [Fact]
    public void Load_PoolRefInAnotherNamespaceOrGroup_PublishedAndWarned()
    {
        var set = ManifestSetLoader.LoadText("x.yaml", Pool + "\n---\n" + """
            apiVersion: inference.networking.x-k8s.io/v1alpha2
            kind: InferenceObjective
            metadata: {name: elsewhere, namespace: other}
            spec: {poolRef: {name: pool}}
            ---
            apiVersion: inference.networking.x-k8s.io/v1alpha2
            kind: InferenceObjective
            metadata: {name: wronggroup}
            spec: {poolRef: {name: pool, group: inference.networking.x-k8s.io}}
            """, "default");

        Assert.True(set.IsValid);
        Assert.Equal(3, set.Items.Count);
        Assert.Equal(2, set.Warnings.Count);
        Assert.Contains("not in namespace \"other\"", set.Warnings[0].Message, StringComparison.Ordinal);
        Assert.Contains("spec.poolRef.group", set.Warnings[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_EmptyFileOrDanglingSymlink_IsAnError()
    {
        using var dir = new TempDirectory();
        dir.Write("pool.yaml", Pool);
        dir.Write("truncated.yaml", "   \n");
        File.CreateSymbolicLink(dir.File("gone.yaml"), "..data/gone.yaml");

        var set = ManifestSetLoader.Load(dir.Path, "default");

        Assert.Equal(
            ["gone.yaml: is a symlink to a file that does not exist", "truncated.yaml: is empty (still being written?); delete it or give it content"],
            set.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Load_MissingDirectory_IsAnError()
    {
        var set = ManifestSetLoader.Load(Path.Combine(Path.GetTempPath(), "no-such-" + Guid.NewGuid().ToString("N")), "default");

        Assert.Contains("does not exist", Assert.Single(set.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ExampleEdgeDirectory_BuildsThreeSimulatorEndpoints()
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "examples", "edge", "manifests");
        var cache = new WorldCache();
        using var source = new ManifestDirectorySource(directory, cache, new ManifestSourceOptions { WatchChanges = false }, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        Assert.True(source.Reload(), string.Join("\n", source.LastErrors));

        var topology = TopologyBuilder.Build(cache.Current, PoolSelection.ForPool("vllm-sim"));
        Assert.NotNull(topology.Pool);
        Assert.Equal(
            ["sim-a-rank-0 127.0.0.1:8001", "sim-b-rank-1 127.0.0.1:8002", "sim-c-rank-2 127.0.0.1:8003"],
            topology.Endpoints.Select(e => $"{e.Name} {e.Address}:{e.Port}"));
        Assert.Equal(10, topology.ObjectivePriorities["premium"]);
        Assert.Equal(-1, topology.ObjectivePriorities["batch"]);
        Assert.Equal([-1, 0, 10], topology.DesiredPriorities);
        Assert.NotNull(topology.Rewrites["llama"]);
        Assert.Equal(2, topology.Rewrites["reviews"].Count);
        Assert.Null(topology.FallbackRewrite);
        Assert.Equal("meta-llama/Llama-3.1-8B-Instruct", Assert.Single(topology.BaseModelConfigMaps).Data["baseModel"]);
    }
}
