using Runtime.Configuration.Model;
using Runtime.Plugins.Lifecycle;

namespace Runtime.Configuration.Tests.Samples;

/// <summary>Configs written in the Go project's documented format load unchanged and mean what they say.</summary>
public class SampleConfigTests
{
    [Fact]
    public void Load_DefaultSample_MatchesGoDefaultsWithInjectedPlugins()
    {
        var result = TestConfigs.LoadSample("default.yaml");

        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
        Assert.Empty(result.Warnings);
        var config = result.Config!;
        Assert.Equal(EndpointPickerConfig.GieApiVersion, config.ApiVersion);
        Assert.Equal(EndpointPickerConfig.ConfigKind, config.Kind);

        // Names default to types; the Go loader injects a profile handler (one profile), a picker,
        // the prefix producer, the parser, the saturation detector, the flow-control policies and the
        // data layer (metrics source and extractor): the default set of SPEC §4 and GIE v1.5.0.
        Assert.Equal(
            [
                "queue-scorer", "kv-cache-utilization-scorer", "prefix-cache-scorer", "single-profile-handler", "max-score-picker", "approx-prefix-cache-producer",
                "openai-parser", "utilization-detector", "fcfs-ordering-policy", "global-strict-fairness-policy", "static-usage-limit-policy", "metrics-data-source", "core-metrics-extractor",
            ],
            config.Plugins.Select(p => p.Name));
        Assert.All(config.Plugins, p => Assert.Equal(p.Name, p.Type));

        var profile = Assert.Single(config.SchedulingProfiles);
        Assert.Equal("default", profile.Name);
        Assert.Equal(
            [("queue-scorer", 2.0), ("kv-cache-utilization-scorer", 2.0), ("prefix-cache-scorer", 3.0), ("max-score-picker", (double?)null)],
            profile.Plugins.Select(r => (r.PluginRef, r.Weight)));
        Assert.Equal("openai-parser", config.Parser!.PluginRef);
        Assert.Equal("utilization-detector", config.SaturationDetector!.PluginRef);
        Assert.Null(config.FlowControl);
        var source = Assert.Single(config.DataLayer!.Sources);
        Assert.Equal(("metrics-data-source", "core-metrics-extractor"), (source.PluginRef, Assert.Single(source.Extractors).PluginRef));
        Assert.Equal(["dataLayer", "haPopulateNonLeaderDatastore"], result.FeatureGates!.EnabledGates);
    }

    [Fact]
    public void Load_BuiltInDefault_EqualsTheDocumentedDefault()
    {
        var builtIn = TestConfigs.Loader.LoadDefault();
        var sample = TestConfigs.LoadSample("default.yaml");

        Assert.True(builtIn.IsValid);
        Assert.Equal(EndpointPickerConfigJson.Serialize(sample.Config!), EndpointPickerConfigJson.Serialize(builtIn.Config!));
    }

    [Fact]
    public void Load_LlmDSample_ItsSectionsApply()
    {
        var result = TestConfigs.LoadSample("llm-d.yaml");

        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
        Assert.Empty(result.Warnings);
        var config = result.Config!;
        Assert.Equal(EndpointPickerConfig.LlmDApiVersion, config.ApiVersion);

        // requestHandler.parsers picks the parser; flowControl.saturationDetector the detector.
        Assert.Equal("openai-parser", config.Parser!.PluginRef);
        Assert.Equal("concurrency-detector", config.SaturationDetector!.PluginRef);

        // The producer is declared, so none is injected; the picker is the declared one.
        Assert.Single(config.Plugins, p => p.Type == "approx-prefix-cache-producer");
        Assert.DoesNotContain(config.Plugins, p => p.Type == "max-score-picker" && p.Name != "picker");

        // queue-scorer had no weight: it gets 1, as in the Go project. Fractional weights are kept.
        Assert.Equal(
            [("prefix-cache-scorer", 2.0), ("queue-scorer", 1.0), ("kv-cache-utilization-scorer", 0.5), ("picker", (double?)null)],
            Assert.Single(config.SchedulingProfiles).Plugins.Select(r => (r.PluginRef, r.Weight)));
    }

    [Fact]
    public void Load_FlowControlSample_BandsLimitsAndPoliciesMeanWhatTheySay()
    {
        var result = TestConfigs.LoadSample("flow-control.yaml");

        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
        Assert.Empty(result.Warnings);
        Assert.True(result.FeatureGates!.IsEnabled("flowControl"));
        var config = result.Config!;
        var flow = config.FlowControl!;

        // Quantities: binary suffixes are powers of 1024, decimal ones powers of 1000.
        Assert.Equal(4L * 1024 * 1024 * 1024, flow.MaxBytes!.Value.Value);
        Assert.Equal("4Gi", flow.MaxBytes.Value.Text);
        Assert.Equal(5_000, flow.MaxRequests!.Value.Value);
        Assert.Equal(TimeSpan.FromSeconds(30), flow.DefaultRequestTtl!.Value.Value);
        Assert.Equal("headroom-limit", flow.UsageLimitPolicyPluginRef);
        Assert.Equal("DemoteToZero", flow.UnprovisionedPriorityPolicy);
        Assert.Equal(4, flow.ShardCount);
        Assert.Equal(TimeSpan.FromMinutes(10), flow.FlowIdleTimeout!.Value.Value);

        var template = flow.DefaultPriorityBand!;
        Assert.Null(template.Priority);
        Assert.Equal(512L * 1024 * 1024, template.MaxBytes!.Value.Value);
        Assert.Equal(1_000, template.MaxRequests!.Value.Value);
        Assert.Equal("round-robin-fairness-policy", template.FairnessPolicyRef);
        Assert.Equal("fcfs-ordering-policy", template.OrderingPolicyRef);

        Assert.Equal([100, 0, -10], flow.PriorityBands.Select(b => b.Priority!.Value));
        Assert.Equal(1L << 30, flow.PriorityBands[0].MaxBytes!.Value.Value);
        Assert.Equal("edf-ordering-policy", flow.PriorityBands[0].OrderingPolicyRef);
        Assert.Null(flow.PriorityBands[1].MaxBytes);
        Assert.Null(flow.PriorityBands[1].FairnessPolicyRef);
        Assert.Equal(100_000_000, flow.PriorityBands[2].MaxBytes!.Value.Value);
        Assert.Equal(500, flow.PriorityBands[2].MaxRequests!.Value.Value);

        // fcfs-ordering-policy is referenced but not declared: like the Go loader, the default
        // ordering and fairness policies are injected when flow control is on.
        Assert.Contains(config.Plugins, p => p.Name == "fcfs-ordering-policy" && p.Type == "fcfs-ordering-policy");
        Assert.Contains(config.Plugins, p => p.Name == "global-strict-fairness-policy");
        Assert.DoesNotContain(config.Plugins, p => p.Name == "static-usage-limit-policy");
        Assert.Equal("utilization-detector", config.SaturationDetector!.PluginRef);
        var detector = Assert.Single(config.Plugins, p => p.Type == "utilization-detector");
        Assert.Equal("250ms", detector.Parameters!.Value.GetProperty("metricsStalenessThreshold").GetString());
    }

    [Fact]
    public void Load_FeatureGatesListForm_NamedGatesOn()
    {
        var result = TestConfigs.LoadSample("feature-gates-list.yaml");

        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
        Assert.True(result.FeatureGates!.IsEnabled("flowControl"));
        Assert.True(result.FeatureGates.IsEnabled("dataLayer"));
        Assert.Equal(["flowControl", "dataLayer"], result.Config!.FeatureGates!.Settings.Select(s => s.Name));
        Assert.All(result.Config.FeatureGates.Settings, s => Assert.True(s.Enabled));

        var source = Assert.Single(result.Config.DataLayer!.Sources);
        Assert.Equal("metrics-data-source", source.PluginRef);
        Assert.Equal("model-server-protocol-metrics", Assert.Single(source.Extractors).PluginRef);

        // flowControl on without a flowControl section: the default policies are still provided.
        Assert.Equal("static-usage-limit-policy", result.Config.FlowControl!.UsageLimitPolicyPluginRef);
        Assert.Contains(result.Config.Plugins, p => p.Type == "fcfs-ordering-policy");
    }

    [Fact]
    public void Load_FeatureGatesMapForm_EachGateSetExplicitly()
    {
        var result = TestConfigs.LoadSample("feature-gates-map.yaml");

        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
        Assert.False(result.FeatureGates!.IsEnabled("flowControl"));
        Assert.False(result.FeatureGates.IsEnabled("enableLegacyMetrics"));
        Assert.Equal("Beta", result.Config!.MinimumStability);
        Assert.Null(result.Config.FlowControl);

        // No profiles: one "default" profile gets every filter, scorer and picker, like the Go loader.
        var profile = Assert.Single(result.Config.SchedulingProfiles);
        Assert.Equal("default", profile.Name);
        Assert.Equal([("queue-scorer", 1.0), ("max-score-picker", (double?)null)], profile.Plugins.Select(r => (r.PluginRef, r.Weight)));

        var source = Assert.Single(result.Config.Plugins, p => p.Type == "metrics-data-source");
        Assert.Equal("https", source.Parameters!.Value.GetProperty("scheme").GetString());
        Assert.False(source.Parameters.Value.GetProperty("insecureSkipVerify").GetBoolean());
    }

    [Theory]
    [InlineData("default.yaml")]
    [InlineData("llm-d.yaml")]
    [InlineData("flow-control.yaml")]
    [InlineData("feature-gates-list.yaml")]
    [InlineData("feature-gates-map.yaml")]
    public void Load_EffectiveConfigWrittenBack_LoadsToTheSameConfig(string sample)
    {
        var first = TestConfigs.LoadSample(sample);
        var json = EndpointPickerConfigJson.Serialize(first.Config!);

        var second = TestConfigs.Load(json);

        Assert.True(second.IsValid, string.Join("\n", TestConfigs.Errors(second)));
        Assert.Equal(json, EndpointPickerConfigJson.Serialize(second.Config!));
    }

    [Fact]
    public void Load_DeprecatedPluginType_LoadsAndIsReportedWithReplacement()
    {
        var result = TestConfigs.Load(TestConfigs.Header + """
            plugins:
            - type: kv-cache-scorer
            """);

        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
        var use = Assert.Single(result.DeprecatedPlugins);
        Assert.Equal("kv-cache-scorer", use.TypeName);
        Assert.Equal(StabilityLevel.Deprecated, TestConfigs.Registry.TryGet(use.TypeName, out var r) ? r.Stability : default);
        Assert.Equal(
            "test.yaml:4:3: plugins[0].type: plugin type \"kv-cache-scorer\" is deprecated: The Go project renamed kv-cache-scorer to kv-cache-utilization-scorer; the old name still loads here and behaves the same. Use instead: kv-cache-utilization-scorer.",
            use.Location.Format("test.yaml"));
    }
}
