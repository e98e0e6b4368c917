using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.Lifecycle;

namespace Runtime.Scheduling.Tests.Disaggregation;

/// <summary>Catalog entries, strict parameters and llm-d's error texts for the disaggregation types.</summary>
public class DisaggParametersTests
{
    private static string One(string type, string parameters) => DisaggTestSupport.FirstError($"plugins:\n- type: {type}\n  parameters:\n{parameters}\n");

    [Theory]
    [InlineData("decode-filter", StabilityLevel.Beta)]
    [InlineData("prefill-filter", StabilityLevel.Beta)]
    [InlineData("encode-filter", StabilityLevel.Beta)]
    [InlineData("label-selector-filter", StabilityLevel.Beta)]
    [InlineData("by-label-selector", StabilityLevel.Deprecated)]
    [InlineData("by-label", StabilityLevel.Deprecated)]
    [InlineData("disagg-profile-handler", StabilityLevel.Beta)]
    [InlineData("pd-profile-handler", StabilityLevel.Deprecated)]
    [InlineData("disagg-headers-handler", StabilityLevel.Deprecated)]
    [InlineData("prefill-header-handler", StabilityLevel.Deprecated)]
    [InlineData("prefix-based-pd-decider", StabilityLevel.Beta)]
    [InlineData("always-disagg-pd-decider", StabilityLevel.Beta)]
    [InlineData("data-parallel-profile-handler", StabilityLevel.Deprecated)]
    public void Catalog_Type_IsAvailableWithLlmDStability(string type, StabilityLevel stability)
    {
        Assert.True(DisaggTestSupport.Registry.TryGet(type, out var registration));
        Assert.True(registration.IsAvailable, type);
        Assert.Equal(stability, registration.Stability);
    }

    [Fact]
    public void Catalog_DeprecatedTypes_NameTheirReplacements()
    {
        Assert.True(DisaggTestSupport.Registry.TryGet("pd-profile-handler", out var pd));
        Assert.Equal(["disagg-profile-handler"], pd.Deprecation!.Replacements);
        Assert.True(DisaggTestSupport.Registry.TryGet("by-label", out var byLabel));
        Assert.Equal(["label-selector-filter"], byLabel.Deprecation!.Replacements);
        Assert.True(DisaggTestSupport.Registry.TryGet("data-parallel-profile-handler", out var dp));
        Assert.Equal([BuiltInPlugins.SingleProfileHandler], dp.Deprecation!.Replacements);
    }

    [Fact]
    public void Multimodal_Decider_FailsAsNotAvailable()
    {
        var error = DisaggTestSupport.FirstError("plugins:\n- type: always-disagg-multimodal-decider\n");
        Assert.StartsWith("plugin type \"always-disagg-multimodal-decider\" is not available in this build: encode/prefill/decode (E/P/D)", error, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeFilter_WithParameters_IsRefused() =>
        Assert.Contains("unknown field \"label\"", One("decode-filter", "    label: x"), StringComparison.Ordinal);

    [Theory]
    [InlineData("    matchExpressions:\n    - {key: a, operator: Near, values: [x]}", "\"Near\" is not a valid label selector operator")]
    [InlineData("    matchExpressions:\n    - {key: a, operator: In}", "for 'in', 'notin' operators, values set can't be empty")]
    [InlineData("    matchExpressions:\n    - {key: a, operator: Exists, values: [x]}", "values set must be empty for exists and does not exist")]
    [InlineData("    matchLabel: {a: b}", "unknown field \"matchLabel\"")]
    public void LabelSelector_BadParameters_Refused(string parameters, string expected) =>
        Assert.Contains(expected, One("label-selector-filter", parameters), StringComparison.Ordinal);

    [Theory]
    [InlineData("    validValues: [a]", "invalid configuration for 'by-label' filter: 'label' must be specified")]
    [InlineData("    label: tier", "invalid configuration for 'by-label' filter: either 'validValues' must be non-empty or 'allowsNoLabel' must be true")]
    public void ByLabel_BadParameters_Refused(string parameters, string expected) => Assert.Equal(expected, One("by-label", parameters));

    [Theory]
    [InlineData("    nonCachedTokens: -1", "nonCachedTokens parameter of prefix disaggregation decider cannot be negative")]
    [InlineData("    promptTokens: -5", "promptTokens parameter of prefix disaggregation decider cannot be negative")]
    public void PrefixDecider_Negative_Refused(string parameters, string expected) => Assert.Equal(expected, One("prefix-based-pd-decider", parameters));

    [Fact]
    public void PrefixDecider_UnknownField_Refused() =>
        Assert.Contains("unknown field \"threshold\"", One("prefix-based-pd-decider", "    threshold: 5"), StringComparison.Ordinal);

    [Theory]
    [InlineData("    primaryPort: 70000")]
    [InlineData("    primaryPort: -1")]
    public void DataParallel_PortOutOfRange_Refused(string parameters) =>
        Assert.StartsWith("invalid primaryPort: must be between 1 and 65535, got", One("data-parallel-profile-handler", parameters), StringComparison.Ordinal);

    [Fact]
    public void Disagg_BadStageOrder_Refused() =>
        Assert.Equal("invalid stage order \"sideways\", must be \"decode-first\" or \"prefill-first\"", One("disagg-profile-handler", "    stageOrder: sideways"));

    [Fact]
    public void Disagg_PrefillFirstWithDecider_Refused() =>
        Assert.Equal("prefill decider is not supported in prefill-first stage order", One("disagg-profile-handler", "    stageOrder: Prefill_First\n    deciders: {prefill: d}"));

    [Fact]
    public void Disagg_EncodeDecider_NotAvailable() =>
        Assert.StartsWith("encode/prefill/decode (E/P/D) disaggregation is not available in this build", One("disagg-profile-handler", "    deciders: {encode: e}"), StringComparison.Ordinal);

    [Fact]
    public void Disagg_MixedSchemas_QuoteBothErrors()
    {
        var error = One("disagg-profile-handler", "    decodeProfile: d\n    profiles: {decode: d}");
        Assert.StartsWith("failed to parse parameters of the disagg-profile-handler: nested schema error: ", error, StringComparison.Ordinal);
        Assert.Contains("unknown field \"decodeProfile\"", error, StringComparison.Ordinal);
        Assert.Contains("; legacy schema error: ", error, StringComparison.Ordinal);
        Assert.Contains("unknown field \"profiles\"", error, StringComparison.Ordinal);
        Assert.EndsWith("(use one format exclusively: either nested profiles/deciders or the deprecated flat fields)", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Disagg_LegacyFlatSchema_LoadsWithDeprecationWarnings()
    {
        var loaded = DisaggTestSupport.Validate("""
            plugins:
            - type: always-disagg-pd-decider
            - type: disagg-profile-handler
              parameters:
                decodeProfile: d
                deciderPluginName: always-disagg-pd-decider
            schedulingProfiles:
            - name: d
            """);
        Assert.True(loaded.IsValid, string.Join("; ", loaded.Errors.Select(e => e.Message)));
        var warnings = loaded.Warnings.Select(w => w.Message).ToArray();
        Assert.Contains("Deprecated: using flat parameter format, migrate to nested profiles/deciders format", warnings);
        Assert.Contains("Deprecated parameter 'decodeProfile', use 'profiles.decode' instead", warnings);
        Assert.Contains("Deprecated parameter 'deciderPluginName', use 'deciders.prefill' instead", warnings);
    }

    [Fact]
    public void Disagg_UndeclaredDecider_Refused() =>
        Assert.Equal("deciders.prefill plugin not found: nowhere", DisaggTestSupport.FirstError("plugins:\n- type: disagg-profile-handler\n  parameters:\n    deciders: {prefill: nowhere}\n"));

    [Fact]
    public void Disagg_DeciderOfWrongKind_Refused() =>
        Assert.Equal("plugin queue-scorer does not implement prefillDeciderPlugin", DisaggTestSupport.FirstError("plugins:\n- type: queue-scorer\n- type: disagg-profile-handler\n  parameters:\n    deciders: {prefill: queue-scorer}\n"));

    [Fact]
    public void PdProfileHandler_DefaultDeciderUndeclared_Refused() =>
        Assert.Equal("invalid decider plugin type: prefix-based-pd-decider", DisaggTestSupport.FirstError("plugins:\n- type: pd-profile-handler\n"));

    [Fact]
    public void PdProfileHandler_EmptyDecider_Refused() =>
        Assert.Equal("decider plugin name is not defined", One("pd-profile-handler", "    deciderPluginName: \"\""));

    [Fact]
    public void PdProfileHandler_ThresholdOfOlderReleases_IsUnknownAsInLlmD() =>
        Assert.Contains("unknown field \"threshold\"", One("pd-profile-handler", "    threshold: 100"), StringComparison.Ordinal);

    [Fact]
    public void PdProfileHandler_LoadsAsDeprecatedAlias()
    {
        var loaded = DisaggTestSupport.Validate("""
            plugins:
            - type: pd-profile-handler
              parameters:
                prefixPluginType: prefix-cache-scorer
                prefixMatchInfoProducerName: approx-prefix-cache-producer
            - type: approx-prefix-cache-producer
            - type: prefix-based-pd-decider
              parameters: {nonCachedTokens: 8}
            schedulingProfiles:
            - name: decode
            - name: prefill
            """);
        Assert.True(loaded.IsValid, string.Join("; ", loaded.Errors.Select(e => e.Message)));
        Assert.Contains(loaded.DeprecatedPlugins, d => d.TypeName == "pd-profile-handler");
    }
}
