using Runtime.Configuration.Loading;
using Runtime.FlowControl.Plugins;
using Runtime.FlowControl.Policies;
using Runtime.Plugins;
using Runtime.Plugins.Activation;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.Registry;
using Runtime.Plugins.Validation;

namespace Runtime.FlowControl.Tests.Plugins;

public sealed class FlowControlConfigMapperTests
{
    private const string Header = """
        apiVersion: inference.networking.x-k8s.io/v1alpha1
        kind: EndpointPickerConfig

        """;

    private static (FlowControlOptions Options, ValidationErrors Errors) Load(string yaml)
    {
        PluginRegistryBuildResult built = BuiltInPlugins.CreateBuilder().UseFlowControlFactories().Build();
        Assert.True(built.IsValid, string.Join("; ", built.Errors));
        ConfigLoadResult result = new EndpointPickerConfigLoader(built.Registry).LoadText(Header + yaml, "test.yaml");
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        PluginActivation activation = PluginActivator.Activate(
            built.Registry,
            result.Config!.Plugins.Select((p, i) => new PluginInstanceSpec(p.Name!, p.Type!, p.Parameters ?? default, $"plugins[{i}]")),
            new PluginServices());
        Assert.Empty(activation.Errors);
        var errors = new ValidationErrors();
        return (FlowControlConfigMapper.Map(result.Config.FlowControl, activation.Plugins, errors), errors);
    }

    [Fact]
    public void Map_FullSection_QuantitiesDurationsAndPolicyRefsResolved()
    {
        var (options, errors) = Load("""
            featureGates: [flowControl]
            plugins:
            - name: limit
              type: static-usage-limit-policy
              parameters: {threshold: 0.8}
            - name: edf
              type: edf-ordering-policy
            - name: rr
              type: round-robin-fairness-policy
            flowControl:
              maxBytes: 2Gi
              maxRequests: 5k
              defaultRequestTTL: 30s
              usageLimitPolicyPluginRef: limit
              unprovisionedPriorityPolicy: DemoteToZero
              shardCount: 3
              flowIdleTimeout: 90s
              defaultPriorityBand:
                maxRequests: 100
                orderingPolicyRef: edf
              priorityBands:
              - priority: 10
                maxBytes: 1Mi
                fairnessPolicyRef: rr
            """);

        Assert.Empty(errors.Errors);
        Assert.Equal(2L << 30, options.MaxBytes);
        Assert.Equal(5000, options.MaxRequests);
        Assert.Equal(TimeSpan.FromSeconds(30), options.DefaultRequestTtl);
        Assert.Equal(0.8, Assert.IsType<StaticUsageLimitPolicy>(options.UsageLimitPolicy).Threshold);
        Assert.Equal(UnprovisionedPriorityPolicy.DemoteToZero, options.UnprovisionedPriority);
        Assert.Equal(3, options.ShardCount);
        Assert.Equal(TimeSpan.FromSeconds(90), options.FlowIdleTimeout);
        Assert.Same(EdfOrderingPolicy.Instance, options.DefaultPriorityBand.OrderingPolicy);
        Assert.Equal(100, options.DefaultPriorityBand.MaxRequests);
        Assert.Equal(PriorityBandOptions.DefaultMaxBytes, options.DefaultPriorityBand.MaxBytes);
        PriorityBandOptions band = Assert.Single(options.PriorityBands);
        Assert.Equal((10, 1L << 20), (band.Priority, band.MaxBytes));
        Assert.Same(RoundRobinFairnessPolicy.Instance, band.FairnessPolicy);
        Assert.Same(FcfsOrderingPolicy.Instance, band.OrderingPolicy);

        using var controller = new DisposableController(options);
        Assert.Equal([10, 0], controller.Value.Priorities);
        Assert.Equal(3, controller.Value.ShardCount);
    }

    [Fact]
    public void Map_NoSection_Defaults()
    {
        var (options, errors) = Load("featureGates: [flowControl]\n");

        Assert.Empty(errors.Errors);
        Assert.Equal(new FlowControlOptions().MaxBytes, options.MaxBytes);
        Assert.Equal(1.0, Assert.IsType<StaticUsageLimitPolicy>(options.UsageLimitPolicy).Threshold);
        Assert.Same(GlobalStrictFairnessPolicy.Instance, options.DefaultPriorityBand.FairnessPolicy);
        Assert.Equal(UnprovisionedPriorityPolicy.JustInTime, options.UnprovisionedPriority);
        Assert.Equal(1, options.ShardCount);
        Assert.Equal(TimeSpan.FromMinutes(5), options.FlowIdleTimeout);
    }

    [Fact]
    public void Map_RefToWrongKindOfPolicy_ReportedWithPath()
    {
        var plugins = new Dictionary<string, IPlugin>
        {
            ["rr"] = new FlowControlPolicyPlugin(FlowControlPolicyTypes.RoundRobinFairness, "rr", RoundRobinFairnessPolicy.Instance),
        };
        var config = new Runtime.Configuration.Model.FlowControlConfig { DefaultPriorityBand = new() { OrderingPolicyRef = "rr" } };
        var errors = new ValidationErrors();

        FlowControlOptions options = FlowControlConfigMapper.Map(config, plugins, errors);

        ValidationError error = Assert.Single(errors.Errors);
        Assert.Equal("flowControl.defaultPriorityBand.orderingPolicyRef", error.Path);
        Assert.Same(FcfsOrderingPolicy.Instance, options.DefaultPriorityBand.OrderingPolicy);
    }

    [Fact]
    public void PolicyTypeNames_MatchTheCatalog()
    {
        Assert.Equal(BuiltInPlugins.FcfsOrderingPolicy, FlowControlPolicyTypes.FcfsOrdering);
        Assert.Equal(BuiltInPlugins.EdfOrderingPolicy, FlowControlPolicyTypes.EdfOrdering);
        Assert.Equal(BuiltInPlugins.GlobalStrictFairnessPolicy, FlowControlPolicyTypes.GlobalStrictFairness);
        Assert.Equal(BuiltInPlugins.RoundRobinFairnessPolicy, FlowControlPolicyTypes.RoundRobinFairness);
        Assert.Equal(BuiltInPlugins.StaticUsageLimitPolicy, FlowControlPolicyTypes.StaticUsageLimit);
    }

    private sealed class DisposableController(FlowControlOptions options) : IDisposable
    {
        public FlowController Value { get; } = new(options);

        public void Dispose() => Value.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
