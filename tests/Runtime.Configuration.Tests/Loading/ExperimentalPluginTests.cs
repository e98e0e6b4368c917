using Runtime.Configuration.Loading;
using Runtime.Plugins.Lifecycle;

namespace Runtime.Configuration.Tests.Loading;

/// <summary>
/// llm-d v0.10's <c>--allow-experimental-plugins</c>: a declared plugin whose type is Alpha fails
/// config loading without it, with llm-d's message; GIE v1.5.0 (no such flag) loses nothing, since
/// none of its types is Alpha (its fixtures load with default flags in <c>UpstreamConfigTests</c>).
/// </summary>
public class ExperimentalPluginTests
{
    /// <summary>Every type llm-d v0.10 registers with StabilityAlpha (cmd/epp/runner/runner.go@v0.10.0, registerInTreePlugins).</summary>
    private static readonly string[] s_llmDAlphaTypes =
    [
        "disaggregatedset-rollout-screener", "session-affinity-filter", "endpoint-attribute-filter", "topology-affinity-filter",
        "utilization-filter", "session-affinity-scorer", "header-label-affinity-scorer", "topology-extractor", "dcgm-data-source",
        "dcgm-extractor", "header-profile-handler", "endpoint-attribute-scorer", "topology-affinity-scorer", "burst-prefix-cache-producer",
        "p2p-source-producer", "multicluster-session-affinity-filter", "multicluster-queue-scorer", "multicluster-kv-cache-utilization-scorer",
        "multicluster-prefix-cache-scorer", "multicluster-approx-prefix-cache-producer", "sheddable-eviction-filter",
        "priority-then-time-eviction-order-policy", "priority-holdback-policy", "soft-reflective-ceiling-policy",
        "multicluster-metrics-data-source", "multicluster-metrics-extractor", "multicluster-file-discovery", "agent-identity",
    ];

    private const string UtilizationFilter = """
        plugins:
        - name: not-busy
          type: utilization-filter
          parameters:
            conditions:
            - {metric: waiting-queue, maxValue: 4}
        - type: queue-scorer
        schedulingProfiles:
        - name: default
          plugins:
          - pluginRef: not-busy
          - pluginRef: queue-scorer
        """;

    private static ConfigLoadResult Load(string yaml, bool allowExperimental) =>
        new EndpointPickerConfigLoader(TestConfigs.Registry) { AllowExperimentalPlugins = allowExperimental }.LoadText(yaml, "test.yaml");

    [Fact]
    public void Load_AlphaTypeWithoutTheFlag_RefusedWithLlmDsMessage()
    {
        var result = Load(TestConfigs.Header + UtilizationFilter, allowExperimental: false);

        Assert.Equal(
            ["test.yaml:5:3: plugins[0].type: plugin 'not-busy' (type: 'utilization-filter') has Alpha stability level, but command line flag --allow-experimental-plugins is not set"],
            TestConfigs.Errors(result));
    }

    [Fact]
    public void Load_AlphaTypeWithTheFlag_Valid()
    {
        var result = Load(TestConfigs.Header + UtilizationFilter, allowExperimental: true);

        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
        Assert.Contains(result.Config!.Plugins, p => p.Name == "not-busy" && p.Type == "utilization-filter");
    }

    [Fact]
    public void Load_DefaultConfigWithoutTheFlag_Valid() =>
        Assert.True(Load(TestConfigs.Header, allowExperimental: false).IsValid);

    [Fact]
    public void Registry_AlphaExactlyWhereLlmDSaysAlpha()
    {
        var alpha = TestConfigs.Registry.Registrations.Where(r => r.Stability == StabilityLevel.Alpha).Select(r => r.TypeName).ToArray();
        var registeredLlmDAlpha = TestConfigs.Registry.Registrations.Select(r => r.TypeName).Intersect(s_llmDAlphaTypes).ToArray();

        Assert.NotEmpty(alpha);
        Assert.Equal(registeredLlmDAlpha.Order(), alpha.Order());
    }

    [Theory]
    [InlineData("{}", "plugins[0].parameters.conditions: utilization filter requires at least one condition")]
    [InlineData("{conditions: [{metric: gpu, maxValue: 1}]}", "plugins[0].parameters.conditions[0].metric: utilization filter condition metric must be one of \"active-requests\", \"running-requests\", \"waiting-queue\", \"kv-cache-utilization\", got \"gpu\"")]
    [InlineData("{conditions: [{metric: running-requests}]}", "plugins[0].parameters.conditions[0].maxValue: utilization filter condition for \"running-requests\" requires maxValue")]
    [InlineData("{conditions: [{metric: active-requests, maxValue: -1}]}", "plugins[0].parameters.conditions[0].maxValue: utilization filter condition for \"active-requests\" requires a non-negative maxValue, got -1")]
    [InlineData("{conditions: [{metric: kv-cache-utilization, maxValue: 1.5}]}", "plugins[0].parameters.conditions[0].maxValue: utilization filter maxValue for \"kv-cache-utilization\" is a fraction and must be at most 1, got 1.5")]
    [InlineData("{conditions: [{metric: waiting-queue, maxValue: 1}], fallback: true}", "plugins[0].parameters.fallback: unknown field")]
    public void Load_UtilizationFilterBadParameters_Rejected(string parameters, string expected)
    {
        var result = Load(TestConfigs.Header + $"plugins:\n- type: utilization-filter\n  parameters: {parameters}\n", allowExperimental: true);

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => $"{e.Path}: {e.Message}".StartsWith(expected, StringComparison.Ordinal));
    }
}
