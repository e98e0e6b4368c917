using System.Text.Json;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.Lifecycle;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.Tests.BuiltIn;

public class BuiltInPluginsTests
{
    private static readonly Runtime.Plugins.Registry.PluginRegistryBuildResult s_build = BuiltInPlugins.CreateBuilder().Build();

    [Fact]
    public void CreateBuilder_Catalog_HasNoRegistrationErrors() => Assert.Empty(s_build.Errors);

    [Theory]
    [InlineData("openai-parser", PluginKinds.Parser, StabilityLevel.Stable, null)]
    [InlineData("queue-scorer", PluginKinds.Scorer, StabilityLevel.Stable, null)]
    [InlineData("kv-cache-utilization-scorer", PluginKinds.Scorer, StabilityLevel.Stable, null)]
    [InlineData("prefix-cache-scorer", PluginKinds.Scorer, StabilityLevel.Stable, null)]
    [InlineData("lora-affinity-scorer", PluginKinds.Scorer, StabilityLevel.Stable, null)]
    [InlineData("running-requests-size-scorer", PluginKinds.Scorer, StabilityLevel.Beta, null)]
    [InlineData("max-score-picker", PluginKinds.Picker, StabilityLevel.Stable, null)]
    [InlineData("random-picker", PluginKinds.Picker, StabilityLevel.Stable, null)]
    [InlineData("weighted-random-picker", PluginKinds.Picker, StabilityLevel.Beta, null)]
    [InlineData("single-profile-handler", PluginKinds.ProfileHandler, StabilityLevel.Stable, null)]
    [InlineData("utilization-detector", PluginKinds.SaturationDetector | PluginKinds.Filter, StabilityLevel.Stable, null)]
    [InlineData("concurrency-detector", PluginKinds.SaturationDetector | PluginKinds.Filter, StabilityLevel.Beta, null)]
    [InlineData("fcfs-ordering-policy", PluginKinds.OrderingPolicy, StabilityLevel.Beta, null)]
    [InlineData("edf-ordering-policy", PluginKinds.OrderingPolicy, StabilityLevel.Beta, null)]
    [InlineData("slo-deadline-ordering-policy", PluginKinds.OrderingPolicy, StabilityLevel.Beta, null)]
    [InlineData("global-strict-fairness-policy", PluginKinds.FairnessPolicy, StabilityLevel.Beta, null)]
    [InlineData("round-robin-fairness-policy", PluginKinds.FairnessPolicy, StabilityLevel.Beta, null)]
    [InlineData("static-usage-limit-policy", PluginKinds.UsageLimitPolicy, StabilityLevel.Beta, null)]
    [InlineData("metrics-data-source", PluginKinds.DataSource, StabilityLevel.Stable, null)]
    [InlineData("core-metrics-extractor", PluginKinds.DataExtractor, StabilityLevel.Stable, null)]
    [InlineData("approx-prefix-cache-producer", PluginKinds.DataProducer, StabilityLevel.Beta, null)]
    [InlineData("header-based-testing-filter", PluginKinds.Filter, StabilityLevel.Beta, null)]
    [InlineData("destination-endpoint-served-verifier", PluginKinds.ResponseHook, StabilityLevel.Beta, null)]
    [InlineData("body-field-to-header", PluginKinds.BbrRequestProcessor, StabilityLevel.Stable, null)]
    [InlineData("base-model-to-header", PluginKinds.BbrRequestProcessor, StabilityLevel.Stable, null)]
    [InlineData("utilization-filter", PluginKinds.Filter, StabilityLevel.Alpha, null)]
    public void Catalog_SpecType_RegisteredWithKindStabilityAndGate(string type, PluginKinds kinds, StabilityLevel stability, string? gate)
    {
        Assert.True(s_build.Registry.TryGet(type, out var registration), type);
        Assert.Equal(kinds, registration.Kinds);
        Assert.Equal(stability, registration.Stability);
        Assert.Equal(gate, registration.FeatureGate);
        Assert.False(string.IsNullOrWhiteSpace(registration.Description));
    }

    [Fact]
    public void Catalog_NoImplementationsYet_NoFactoryPretendsToWork() =>
        Assert.All(s_build.Registry.Registrations, r => Assert.Null(r.Factory));

    [Fact]
    public void Catalog_EveryType_AcceptsAbsentParameters()
    {
        // GIE's (and llm-d's, for utilization-filter, by-label and the endpoint-attribute plugins) factories fail without parameters, so ours are required too.
        string[] required = [BuiltInPlugins.BodyFieldToHeader, BuiltInPlugins.RequestAttributeReporter, BuiltInPlugins.K8sNotificationSource, BuiltInPlugins.UtilizationFilter, "by-label", BuiltInPlugins.EndpointAttributeFilter, BuiltInPlugins.EndpointAttributeScorer];
        foreach (var registration in s_build.Registry.Registrations.Where(r => !required.Contains(r.TypeName)))
        {
            var errors = new ValidationErrors();
            registration.Parameters.Validate(default, "parameters", errors);
            Assert.False(errors.HasErrors, $"{registration.TypeName}: {string.Join("; ", errors.Errors)}");
        }
    }

    [Fact]
    public void Catalog_BodyFieldToHeaderWithoutParameters_RequiresFieldAndHeader()
    {
        Assert.True(s_build.Registry.TryGet(BuiltInPlugins.BodyFieldToHeader, out var registration));
        var errors = new ValidationErrors();

        registration.Parameters.Validate(default, "plugins[0].parameters", errors);

        Assert.Equal(["plugins[0].parameters.field_name: is required", "plugins[0].parameters.header_name: is required"], errors.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Catalog_Tombstones_RemovedFiltersPointAtScorers()
    {
        Assert.True(s_build.Registry.TryGetTombstone("decision-tree-filter", out var tree));
        Assert.Equal(["queue-scorer", "kv-cache-utilization-scorer", "lora-affinity-scorer"], tree.Replacements);
        Assert.Equal(["least-queue-filter", "low-queue-filter", "least-kv-cache-filter", "lora-affinity-filter", "decision-tree-filter"], s_build.Registry.Tombstones.Select(t => t.TypeName));
    }

    [Fact]
    public void Catalog_DeprecatedAlias_NamesItsReplacement()
    {
        Assert.True(s_build.Registry.TryGet("kv-cache-scorer", out var alias));
        Assert.Equal(StabilityLevel.Deprecated, alias.Stability);
        Assert.Equal(["kv-cache-utilization-scorer"], alias.Deprecation!.Replacements);
    }

    [Fact]
    public void Catalog_FeatureGates_EveryGieAndLlmDGateKnown()
    {
        var gates = s_build.Registry.ResolveFeatureGates(new Dictionary<string, bool>());

        Assert.Equal(["flowControl", "dataLayer", "enableLegacyMetrics", "haPopulateNonLeaderDatastore"], s_build.Registry.FeatureGates.Select(g => g.Name));
        Assert.False(gates.IsEnabled("flowControl"));
        Assert.True(gates.IsEnabled("dataLayer"));
        Assert.False(gates.IsEnabled("enableLegacyMetrics"));
        Assert.True(gates.IsEnabled("haPopulateNonLeaderDatastore"));
    }

    /// <summary>Every type GIE v1.5.0's <c>registerInTreePlugins</c> registers in its endpoint picker (cmd/epp/runner/runner.go@v1.5.0).</summary>
    public static TheoryData<string> GieEndpointPickerTypes() =>
    [
        "prefix-cache-scorer", "max-score-picker", "random-picker", "weighted-random-picker", "single-profile-handler",
        "kv-cache-utilization-scorer", "queue-scorer", "running-requests-size-scorer", "lora-affinity-scorer", "token-load-scorer",
        "global-strict-fairness-policy", "round-robin-fairness-policy", "fcfs-ordering-policy", "edf-ordering-policy",
        "slo-deadline-ordering-policy", "static-usage-limit-policy", "approx-prefix-cache-producer", "predicted-latency-scorer",
        "predicted-latency-producer", "latency-slo-admitter", "prefix-cache-affinity-filter", "slo-headroom-tier-filter",
        "latency-scorer", "inflight-load-producer", "header-based-testing-filter", "destination-endpoint-served-verifier",
        "metrics-data-source", "core-metrics-extractor", "k8s-notification-source", "endpoint-notification-source",
        "request-attribute-reporter", "openai-parser", "vllmgrpc-parser", "passthrough-parser", "concurrency-detector",
        "utilization-detector",
    ];

    [Theory]
    [MemberData(nameof(GieEndpointPickerTypes))]
    public void Catalog_GieV150Type_Known(string type) => Assert.True(s_build.Registry.TryGet(type, out _), type);

    [Fact]
    public void Catalog_LatencyPredictorFamily_DeclaredUnavailableWithTheReason()
    {
        foreach (var type in BuiltInPlugins.LatencyPredictorTypes)
        {
            Assert.True(s_build.Registry.TryGet(type, out var registration), type);
            Assert.Contains("latency-predictor", registration.Unavailable, StringComparison.Ordinal);
            Assert.False(registration.IsAvailable);
        }
    }

    [Fact]
    public void UseFactory_ImplementationSupplied_CatalogTypeBecomesRunnable()
    {
        var build = BuiltInPlugins.CreateBuilder()
            .UseFactory(BuiltInPlugins.QueueScorer, (name, _, _) => PluginResult.Success(new TestPlugin(BuiltInPlugins.QueueScorer, name)))
            .Build();

        Assert.True(build.IsValid);
        Assert.True(build.Registry.TryGet(BuiltInPlugins.QueueScorer, out var registration));
        Assert.NotNull(registration.Factory);
        Assert.Equal("q", registration.Factory("q", default(JsonElement), null!).Plugin!.Name);
    }
}
