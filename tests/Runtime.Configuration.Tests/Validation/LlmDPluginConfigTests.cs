using System.Text.Json;
using Runtime.Configuration.Loading;

namespace Runtime.Configuration.Tests.Validation;

/// <summary>
/// llm-d v0.10 configurations of the scorers, filters and data sources of issue 14 (items 3 and 6):
/// they load, the approximate prefix producer takes llm-d's defaults under an llm-d apiVersion and
/// GIE's under a GIE one, and the index budget is validated.
/// </summary>
public class LlmDPluginConfigTests
{
    private const string LlmDHeader = """
        apiVersion: llm-d.ai/v1alpha1
        kind: EndpointPickerConfig

        """;

    private static ConfigLoadResult Load(string yaml) =>
        new EndpointPickerConfigLoader(TestConfigs.Registry) { AllowExperimentalPlugins = true }.LoadText(yaml, "test.yaml");

    private static JsonElement Producer(ConfigLoadResult result)
    {
        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
        var producer = Assert.Single(result.Config!.Plugins, p => p.Type == "approx-prefix-cache-producer");
        return producer.Parameters ?? default;
    }

    private const string PrefixScorer = """
        plugins:
        - type: prefix-cache-scorer
          parameters:
            blockSizeTokens: 32
        """;

    [Fact]
    public void LlmDConfig_InjectedProducer_HasLlmDsMatchCaps_AndNotTheScorersParameters()
    {
        var parameters = Producer(Load(LlmDHeader + PrefixScorer));

        Assert.Equal(2048, parameters.GetProperty("maxPrefixBlocksToMatch").GetInt32());
        Assert.Equal(131072, parameters.GetProperty("maxPrefixTokensToMatch").GetInt32());
        Assert.False(parameters.TryGetProperty("blockSizeTokens", out _));
    }

    [Fact]
    public void GieConfig_InjectedProducer_TakesTheScorersParameters_AndGiesCaps()
    {
        var parameters = Producer(Load(TestConfigs.Header + PrefixScorer));

        Assert.Equal(32, parameters.GetProperty("blockSizeTokens").GetInt32());
        Assert.False(parameters.TryGetProperty("maxPrefixBlocksToMatch", out _));
    }

    [Fact]
    public void LlmDConfig_DeclaredProducer_ExplicitCapsKept()
    {
        var parameters = Producer(Load(LlmDHeader + """
            plugins:
            - type: approx-prefix-cache-producer
              parameters:
                maxPrefixTokensToMatch: 0
                indexMaxBytes: 64Mi
            - type: prefix-cache-scorer
              parameters:
                matchLengthWeight: 0.5
            """));

        Assert.Equal(0, parameters.GetProperty("maxPrefixTokensToMatch").GetInt32());
        Assert.Equal(2048, parameters.GetProperty("maxPrefixBlocksToMatch").GetInt32());
        Assert.Equal("64Mi", parameters.GetProperty("indexMaxBytes").GetString());
    }

    [Fact]
    public void NoHitLruScorer_AloneGetsAProducer()
    {
        Producer(Load(LlmDHeader + "plugins:\n- type: no-hit-lru-scorer\n"));
    }

    [Theory]
    [InlineData("{indexMaxBytes: 10}", "plugins[0].parameters.indexMaxBytes: must be at least 64 bytes (one index entry), got 10")]
    [InlineData("{indexMaxBytes: lots}", "plugins[0].parameters.indexMaxBytes")]
    [InlineData("{matchLengthWeight: 2}", "plugins[0].parameters.matchLengthWeight: must be between 0 and 1, got 2")]
    [InlineData("{matchLengthWeight: 0.5, matchLengthScaleTokens: 0}", "plugins[0].parameters.matchLengthScaleTokens: must be positive when matchLengthWeight is set, got 0")]
    public void PrefixParameters_BadValues_Rejected(string parameters, string expected)
    {
        var result = Load(LlmDHeader + $"plugins:\n- type: approx-prefix-cache-producer\n  parameters: {parameters}\n");

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => $"{e.Path}: {e.Message}".StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void TokenLoadScorer_AcceptsLlmDsProducerName()
    {
        var result = Load(LlmDHeader + "plugins:\n- type: token-load-scorer\n  parameters: {queueThresholdTokens: 1000, inFlightLoadProducerName: inflight-load-producer}\n");

        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
    }

    /// <summary>llm-d's dcgm-extractor README example, as written.</summary>
    [Fact]
    public void DcgmReadmeExample_Loads()
    {
        var result = Load(LlmDHeader + """
            plugins:
            - type: dcgm-data-source
              name: dcgm-source
              parameters:
                port: 9400
            - type: dcgm-extractor
              name: dcgm-extractor
            - type: endpoint-attribute-filter
              name: gpu-utilization-filter
              parameters:
                attribute: "GPUUtilization/dcgm-extractor"
                onMissing: "Pass"
                fallbackOnEmpty: true
                algorithm:
                  type: "threshold"
                  threshold:
                    operator: "LessThanOrEqual"
                    value: 0.90
            - type: endpoint-attribute-scorer
              name: gpu-utilization-scorer
              parameters:
                attributeKey: "GPUUtilization/dcgm-extractor"
                algorithm:
                  type: "linear_lower_is_better"
                  normalization:
                    fixedRange:
                      min: 0.0
                      max: 1.0
            - type: kv-cache-utilization-scorer
            - type: max-score-picker
            - type: single-profile-handler
            dataLayer:
              sources:
              - pluginRef: dcgm-source
                extractors:
                - pluginRef: dcgm-extractor
            schedulingProfiles:
            - name: default
              plugins:
              - pluginRef: gpu-utilization-filter
              - pluginRef: gpu-utilization-scorer
                weight: 2.0
              - pluginRef: kv-cache-utilization-scorer
                weight: 1.0
              - pluginRef: max-score-picker
            """);

        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
    }

    [Fact]
    public void SessionAndLoadScorers_LlmDParameters_Load()
    {
        var result = Load(LlmDHeader + """
            plugins:
            - type: session-affinity-scorer
              parameters:
                strategy: session_id
                sessionIdConfig:
                  sources:
                  - header: x-session-id
                  - attribute: agent-identity
                  evictionTtlSeconds: 300
                  evictionSweepSeconds: 10
            - type: active-request-scorer
              parameters: {idleThreshold: 2, maxBusyScore: 0.8}
            - type: load-aware-scorer
              parameters: {threshold: 64}
            - type: no-hit-lru-scorer
              parameters: {lruSize: 2048}
            - type: context-length-aware
              parameters: {enableFiltering: true}
            - type: max-score-picker
            """);

        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
    }
}
