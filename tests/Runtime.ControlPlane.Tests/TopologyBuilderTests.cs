using Runtime.ControlPlane.Reconcile;
using Runtime.ControlPlane.World;
using static Runtime.ControlPlane.Tests.TestWorld;

namespace Runtime.ControlPlane.Tests;

public class TopologyBuilderTests
{
    private static readonly PoolSelection s_pool = PoolSelection.ForPool("pool");

    [Fact]
    public void ReadyMatchingPods_OneEndpointPerTargetPort_NamedByRank()
    {
        var world = WorldSnapshot.From([
            Pool(ports: [8000, 8001]),
            Pod("ready", "10.0.0.1"),
            Pod("not-ready", "10.0.0.2", ready: false),
            Pod("other-app", "10.0.0.3", app: "sglang"),
            Pod("no-ip", ""),
            Pod("elsewhere", "10.0.0.4", ns: "other"),
            Pod("leaving", "10.0.0.5") with { Terminating = true },
        ]);

        var topology = TopologyBuilder.Build(world, s_pool);

        Assert.True(topology.PoolFound);
        Assert.Equal(["ready-rank-0 (10.0.0.1:8000)", "ready-rank-1 (10.0.0.1:8001)"], topology.Endpoints.Select(e => e.ToString()));
        Assert.Equal("vllm", topology.Endpoints[0].Labels["app"]);
    }

    [Fact]
    public void ActivePortsAnnotation_KeepsOnlyListedPorts_RanksKeepTheirIndex()
    {
        var world = WorldSnapshot.From([Pool(ports: [8000, 8001, 8002]), Pod("dp", "10.0.0.1", activePorts: "8001, 8002")]);

        Assert.Equal(["dp-rank-1", "dp-rank-2"], TopologyBuilder.Build(world, s_pool).Endpoints.Select(e => e.Name));
    }

    [Fact]
    public void MissingPoolOrOtherGroup_NotFound_NoEndpoints()
    {
        var world = WorldSnapshot.From([Pod("a", "10.0.0.1"), Objective("chat", 3)]);
        var topology = TopologyBuilder.Build(world, s_pool);
        Assert.False(topology.PoolFound);
        Assert.Empty(topology.Endpoints);
        Assert.Equal([0], topology.DesiredPriorities);

        var withPool = WorldSnapshot.From([Pool(), Pod("a", "10.0.0.1")]);
        Assert.False(TopologyBuilder.Build(withPool, PoolSelection.ForPool("pool", group: "inference.networking.x-k8s.io")).PoolFound);
    }

    [Fact]
    public void Objectives_OnlyThisPools_PrioritiesIncludeZero()
    {
        var world = WorldSnapshot.From([
            Pool(),
            Objective("critical", 10),
            Objective("batch", -1),
            Objective("elsewhere", 99, pool: "other-pool"),
        ]);

        var topology = TopologyBuilder.Build(world, s_pool);

        Assert.Equal(new Dictionary<string, int> { ["critical"] = 10, ["batch"] = -1 }, topology.ObjectivePriorities);
        Assert.Equal([-1, 0, 10], topology.DesiredPriorities);
    }

    [Fact]
    public void Rewrites_OldestWinsConflicts_FirstFallbackKept()
    {
        var old = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var world = WorldSnapshot.From([
            Pool(),
            Rewrite("newer", old.AddDays(1), Rule(["chat"], ("chat-v2", 1)), Rule([], ("newer-default", 1))),
            Rewrite("older", old, Rule(["chat"], ("chat-v1", 9), ("chat-v2", 1)), Rule(["sql"], ("sql-lora", 1)), Rule([], ("older-default", 1))),
        ]);

        var topology = TopologyBuilder.Build(world, s_pool);

        Assert.Equal([new WeightedModel("chat-v1", 9), new WeightedModel("chat-v2", 1)], topology.Rewrites["chat"]);
        Assert.Equal("sql-lora", topology.Rewrites["sql"][0].Model);
        Assert.Equal("older-default", topology.FallbackRewrite![0].Model);
    }

    [Fact]
    public void Standalone_SelectorAndPortsStandInForThePool()
    {
        var world = WorldSnapshot.From([Pod("a", "10.0.0.1", app: "edge"), Pod("b", "10.0.0.2"), Objective("any", 4, pool: "whatever")]);

        var topology = TopologyBuilder.Build(world, PoolSelection.Standalone(ValueDictionary.From([L("app", "edge")]), [9000]));

        Assert.True(topology.PoolFound);
        Assert.Null(topology.Pool);
        Assert.Equal(["a-rank-0"], topology.Endpoints.Select(e => e.Name));
        Assert.Equal(4, topology.ObjectivePriorities["any"]);
    }

    [Fact]
    public void BaseModelConfigMaps_OnlyLabelledOnesInThePoolNamespace()
    {
        var world = WorldSnapshot.From([
            BbrConfigMap("llama", "meta/llama", "- sql-lora"),
            new ConfigMapResource(Meta("plain"), ValueDictionary.From([L("baseModel", "x")])),
            BbrConfigMap("other-ns", "m", "") with { Meta = Meta("other-ns", "elsewhere", [L("inference.networking.k8s.io/bbr-managed", "true")]) },
        ]);

        Assert.Equal(["llama"], TopologyBuilder.Build(world, s_pool).BaseModelConfigMaps.Select(c => c.Meta.Name));
    }

    [Theory]
    [InlineData("app=vllm,tier=gpu", true)]
    [InlineData("app==vllm", true)]
    [InlineData("app", false)]
    [InlineData("app!=vllm", false)]
    [InlineData("", false)]
    public void SelectorFlag_Parsed(string text, bool valid)
    {
        Assert.Equal(valid, PoolSelection.TryParseSelector(text, out var selector, out var error));
        if (valid)
        {
            Assert.Equal("vllm", selector["app"]);
        }
        else
        {
            Assert.NotNull(error);
        }
    }
}
