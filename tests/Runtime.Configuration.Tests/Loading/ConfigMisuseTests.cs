namespace Runtime.Configuration.Tests.Loading;

/// <summary>Each way to get a configuration wrong, and the exact error the operator sees (file:line:column: path: message).</summary>
public class ConfigMisuseTests
{
    [Fact]
    public void Load_UnknownPluginType_ErrorWithLineAndSuggestion()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            plugins:
            - type: queue-scorer
            - type: prefix-cache-scorr
            """);

        Assert.Equal("test.yaml:5:3: plugins[1].type: unknown plugin type \"prefix-cache-scorr\"; did you mean \"prefix-cache-scorer\"? (`runtime plugins` lists the registered types)", error);
    }

    [Fact]
    public void Load_RemovedPluginType_ErrorCarriesMigrationGuidance()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            plugins:
            - type: least-queue-filter
            """);

        Assert.Equal(
            "test.yaml:4:3: plugins[0].type: plugin type \"least-queue-filter\" was removed in the Gateway API Inference Extension (filters were replaced by scorers before v1.5). " +
            "Filters dropped endpoints outright; a scorer ranks them instead. Reference the scorer from your scheduling profile with a weight. Use instead: queue-scorer.",
            error);
    }

    [Fact]
    public void Load_RemovedPluginSplitInSeveral_GuidanceNamesEveryReplacement()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            plugins:
            - name: tree
              type: decision-tree-filter
            """);

        Assert.EndsWith("Use instead: queue-scorer, kv-cache-utilization-scorer, lora-affinity-scorer.", error, StringComparison.Ordinal);
        Assert.StartsWith("test.yaml:5:3: plugins[0].type: plugin type \"decision-tree-filter\" was removed", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FlowControlPolicyWithoutTheGate_LoadsAsInGo()
    {
        // GIE registers the policies unconditionally; the flowControl gate switches queuing, not the types.
        var result = TestConfigs.Load(TestConfigs.Header + """
            plugins:
            - type: queue-scorer
            - type: edf-ordering-policy
            """);

        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
    }

    [Fact]
    public void Load_PdProfileHandler_WithoutItsDefaultDecider_IsRefusedAsInLlmD()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            plugins:
            - type: pd-profile-handler
            schedulingProfiles:
            - name: prefill
            - name: decode
            """);

        Assert.EndsWith("plugins[0].parameters.deciderPluginName: invalid decider plugin type: prefix-based-pd-decider", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_PluginBelowMinimumStability_ErrorNamesBothLevels()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            minimumStability: Stable
            plugins:
            - type: queue-scorer
            - type: running-requests-size-scorer
            """);

        Assert.Equal("test.yaml:6:3: plugins[1].type: plugin type \"running-requests-size-scorer\" is Beta, below minimumStability Stable", error);
    }

    [Fact]
    public void Load_GateBelowMinimumStability_ErrorOnTheGate()
    {
        var result = TestConfigs.Load(TestConfigs.Header + """
            minimumStability: Beta
            featureGates: [flowControl]
            plugins:
            - type: queue-scorer
            """);

        Assert.Equal(["test.yaml:4:16: featureGates[0]: feature gate \"flowControl\" is Alpha, below minimumStability Beta"], TestConfigs.Errors(result));
    }

    [Fact]
    public void Load_DeprecatedPluginWithMinimumStabilityAlpha_Rejected()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            minimumStability: Alpha
            plugins:
            - type: kv-cache-scorer
            """);

        Assert.Equal("test.yaml:5:3: plugins[0].type: plugin type \"kv-cache-scorer\" is Deprecated, below minimumStability Alpha", error);
    }

    [Fact]
    public void Load_InvalidMinimumStability_ErrorListsLevels()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + "minimumStability: beta\n");

        Assert.Equal("test.yaml:3:1: minimumStability: must be one of Deprecated, Alpha, Beta, Stable; got \"beta\"", error);
    }

    [Fact]
    public void Load_DuplicatePluginName_ErrorPointsAtBoth()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            plugins:
            - name: scorer
              type: queue-scorer
            - name: scorer
              type: kv-cache-utilization-scorer
            """);

        Assert.Equal("test.yaml:6:3: plugins[1].name: duplicate plugin name \"scorer\", already used by plugins[0]", error);
    }

    [Fact]
    public void Load_SameTypeTwiceWithoutNames_ErrorExplainsNameDefault()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            plugins:
            - type: queue-scorer
            - type: queue-scorer
            """);

        Assert.Equal("test.yaml:5:3: plugins[1]: duplicate plugin name \"queue-scorer\", already used by plugins[0] (a plugin's name defaults to its type; give each instance its own name)", error);
    }

    [Fact]
    public void Load_DanglingPluginRef_ErrorWithSuggestion()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            plugins:
            - type: prefix-cache-scorer
            schedulingProfiles:
            - name: default
              plugins:
              - pluginRef: prefix-scorer
                weight: 3
            """);

        Assert.Equal("test.yaml:8:5: schedulingProfiles[0].plugins[0].pluginRef: no plugin named \"prefix-scorer\" in plugins; did you mean \"prefix-cache-scorer\"?", error);
    }

    [Fact]
    public void Load_ProfileReferencesNonSchedulingPlugin_IgnoredWithOneWarning()
    {
        var result = TestConfigs.Load(TestConfigs.Header + """
            plugins:
            - type: openai-parser
            - type: queue-scorer
            schedulingProfiles:
            - name: default
              plugins:
              - pluginRef: openai-parser
              - pluginRef: queue-scorer
            """);

        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
        var warning = Assert.Single(result.Warnings);
        Assert.Equal(
            "test.yaml:9:5: schedulingProfiles[0].plugins[0].pluginRef: ignored in the profile: \"openai-parser\" is a parser (openai-parser), and a profile runs filters, scorers and pickers (the Go endpoint picker ignores it too)",
            warning.Format("test.yaml"));
    }

    [Fact]
    public void Load_DanglingFlowControlPolicyRefs_EveryOneReported()
    {
        var result = TestConfigs.Load(TestConfigs.Header + """
            featureGates: [flowControl]
            plugins:
            - type: queue-scorer
            flowControl:
              usageLimitPolicyPluginRef: my-limit
              priorityBands:
              - priority: 1
                fairnessPolicyRef: queue-scorer
                orderingPolicyRef: edf
            """);

        Assert.Equal(
        [
            "test.yaml:7:3: flowControl.usageLimitPolicyPluginRef: no plugin named \"my-limit\" in plugins",
            "test.yaml:10:5: flowControl.priorityBands[0].fairnessPolicyRef: \"queue-scorer\" is a scorer (queue-scorer); fairnessPolicyRef must name a fairness-policy",
            "test.yaml:11:5: flowControl.priorityBands[0].orderingPolicyRef: no plugin named \"edf\" in plugins",
        ], TestConfigs.Errors(result));
    }

    [Fact]
    public void Load_BadFlowControlExtensionFields_EveryOneReportedWithPath()
    {
        var result = TestConfigs.Load(TestConfigs.Header + """
            featureGates: [flowControl]
            flowControl:
              unprovisionedPriorityPolicy: JustInTyme
              shardCount: 0
              flowIdleTimeout: 0s
            """);

        Assert.Equal(
        [
            "test.yaml:5:3: flowControl.unprovisionedPriorityPolicy: must be one of JustInTime, DemoteToZero; got \"JustInTyme\"; did you mean \"JustInTime\"?",
            "test.yaml:6:3: flowControl.shardCount: must be between 1 and 1024, got 0",
            "test.yaml:7:3: flowControl.flowIdleTimeout: must be positive, got 0ms",
        ], TestConfigs.Errors(result));
    }

    [Fact]
    public void Load_FlowControlShardCountNotANumber_Error()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            featureGates: [flowControl]
            flowControl:
              shardCount: four
            """);

        Assert.StartsWith("test.yaml:5:3: flowControl.shardCount: ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MalformedQuantity_ErrorShowsAcceptedForms()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            featureGates: [flowControl]
            flowControl:
              maxBytes: 1GB
            """);

        Assert.Equal(
            "test.yaml:5:3: flowControl.maxBytes: invalid quantity \"1GB\": expected a number with an optional suffix: Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024), k, M, G, T, P, E (powers of 1000), or an exponent such as 1e9",
            error);
    }

    [Fact]
    public void Load_MalformedDuration_Error()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            featureGates: [flowControl]
            flowControl:
              defaultRequestTTL: 30 seconds
            """);

        Assert.Equal("test.yaml:5:3: flowControl.defaultRequestTTL: invalid duration \"30 seconds\": expected a duration such as \"30s\", \"200ms\" or \"1m30s\" (units ns, us, ms, s, m, h)", error);
    }

    [Fact]
    public void Load_UnclosedFlowMapping_SyntaxErrorHasLine()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            plugins:
            - type: queue-scorer
              parameters: {a: 1
            schedulingProfiles: []
            """);

        Assert.Equal("test.yaml:6:1: YAML syntax error: the text ends inside an unfinished value (an unclosed {, [ or quote?)", error);
    }

    [Fact]
    public void Load_BadIndentation_SyntaxErrorHasLine()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            plugins:
            - type: queue-scorer
               name: x
            """);

        Assert.Matches(@"^test\.yaml:5:\d+: YAML syntax error: .+", error);
    }

    [Fact]
    public void Load_DuplicateYamlKey_ErrorWithLine()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            plugins:
            - type: queue-scorer
              type: kv-cache-utilization-scorer
            """);

        Assert.Matches(@"^test\.yaml:5:\d+: .*[Dd]uplicate key", error);
    }

    [Fact]
    public void Load_UnknownField_ErrorWithPathAndSuggestion()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            plugins:
            - type: queue-scorer
            schedulingProfiles:
            - name: default
              plugins:
              - pluginRef: queue-scorer
                wieght: 2
            """);

        Assert.Equal("test.yaml:9:5: schedulingProfiles[0].plugins[0].wieght: unknown field \"wieght\"; did you mean \"weight\"? (known fields: pluginRef, weight)", error);
    }

    [Fact]
    public void Load_UnknownTopLevelField_ErrorListsKnownFields()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + "schedulingProfile: []\n");

        Assert.Equal(
            "test.yaml:3:1: schedulingProfile: unknown field \"schedulingProfile\"; did you mean \"schedulingProfiles\"? " +
            "(known fields: apiVersion, kind, featureGates, minimumStability, plugins, schedulingProfiles, saturationDetector, dataLayer, flowControl, parser, requestHandler)",
            error);
    }

    [Fact]
    public void Load_UnknownPluginParameter_ErrorWithPath()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            plugins:
            - type: max-score-picker
              parameters:
                maxEndpoints: 2
            """);

        Assert.Equal("test.yaml:6:5: plugins[0].parameters.maxEndpoints: unknown field \"maxEndpoints\" (known fields: maxNumOfEndpoints)", error);
    }

    [Fact]
    public void Load_ParameterOutOfRange_Error()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            featureGates: [flowControl]
            plugins:
            - type: static-usage-limit-policy
              parameters:
                threshold: 1.5
            """);

        Assert.Equal("test.yaml:7:5: plugins[0].parameters.threshold: must be in (0, 1], got 1.5", error);
    }

    [Fact]
    public void Load_WrongValueType_ErrorNamesExpectedType()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            plugins:
            - type: max-score-picker
              parameters:
                maxNumOfEndpoints: two
            """);

        Assert.Equal("test.yaml:6:5: plugins[0].parameters.maxNumOfEndpoints: expected a whole number, got \"two\"", error);
    }

    [Fact]
    public void Load_UnknownFeatureGate_ErrorListsKnownGates()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + "featureGates: [flowcontrol]\n");

        Assert.Equal("test.yaml:3:16: featureGates[0]: unknown feature gate \"flowcontrol\"; did you mean \"flowControl\"? (known gates: flowControl, dataLayer, enableLegacyMetrics, haPopulateNonLeaderDatastore)", error);
    }

    [Fact]
    public void Load_WrongApiVersionAndKind_BothReported()
    {
        var result = TestConfigs.Load("apiVersion: v1\nkind: ConfigMap\n");

        Assert.Equal(
        [
            "test.yaml:1:1: apiVersion: unsupported apiVersion \"v1\"; expected inference.networking.x-k8s.io/v1alpha1 or llm-d.ai/v1alpha1",
            "test.yaml:2:1: kind: expected EndpointPickerConfig, got \"ConfigMap\"",
        ], TestConfigs.Errors(result));
    }

    [Fact]
    public void Load_BbrProcessorInEndpointPickerConfig_Error()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            plugins:
            - type: body-field-to-header
              parameters: {field_name: model, header_name: X-Gateway-Model-Name}
            """);

        Assert.Equal("test.yaml:4:3: plugins[0].type: plugin type \"body-field-to-header\" is a bbr-request-processor; it belongs in the body-based router's configuration, not in EndpointPickerConfig", error);
    }

    [Fact]
    public void Load_SeveralMistakes_AllReportedInOneRun()
    {
        var result = TestConfigs.Load(TestConfigs.Header + """
            featureGates: [flowControl, noSuchGate]
            plugins:
            - type: queue-scorer
              colour: blue
            - type: least-kv-cache-filter
            - type: random-picker
              parameters: {maxNumOfEndpoints: 0}
            - type: max-score-picker
            schedulingProfiles:
            - name: default
              plugins:
              - pluginRef: queue-scorer
              - pluginRef: missing
              - pluginRef: random-picker
              - pluginRef: max-score-picker
            flowControl:
              maxRequests: lots
              priorityBands:
              - priority: 1
              - priority: 1
            """);

        Assert.Equal(
        [
            "test.yaml:6:3: plugins[0].colour: unknown field \"colour\" (known fields: name, type, parameters)",
            "test.yaml:19:3: flowControl.maxRequests: invalid quantity \"lots\": expected a number with an optional suffix: Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024), k, M, G, T, P, E (powers of 1000), or an exponent such as 1e9",
            "test.yaml:3:29: featureGates[1]: unknown feature gate \"noSuchGate\" (known gates: flowControl, dataLayer, enableLegacyMetrics, haPopulateNonLeaderDatastore)",
            "test.yaml:7:3: plugins[1].type: plugin type \"least-kv-cache-filter\" was removed in the Gateway API Inference Extension (filters were replaced by scorers before v1.5). Filters dropped endpoints outright; a scorer ranks them instead. Reference the scorer from your scheduling profile with a weight. Use instead: kv-cache-utilization-scorer.",
            "test.yaml:9:16: plugins[2].parameters.maxNumOfEndpoints: must be at least 1, got 0",
            "test.yaml:15:5: schedulingProfiles[0].plugins[1].pluginRef: no plugin named \"missing\" in plugins",
            "test.yaml:17:5: schedulingProfiles[0].plugins[3].pluginRef: a scheduling profile takes one picker, and \"random-picker\" is already this profile's picker",
            "test.yaml:22:5: flowControl.priorityBands[1].priority: duplicate priority 1, already configured by flowControl.priorityBands[0]",
        ], TestConfigs.Errors(result));
    }

    [Fact]
    public void Load_TwoProfilesWithoutHandler_Error()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            plugins:
            - type: queue-scorer
            schedulingProfiles:
            - name: a
              plugins: [{pluginRef: queue-scorer}]
            - name: b
              plugins: [{pluginRef: queue-scorer}]
            """);

        Assert.Equal("test.yaml:5:1: schedulingProfiles: 2 scheduling profiles need a profile handler that runs several; single-profile-handler (injected only for a single profile) runs one; declare a multi-profile handler such as disagg-profile-handler", error);
    }

    [Fact]
    public void Load_SingleProfileHandlerWithTwoProfiles_Error()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            plugins:
            - type: single-profile-handler
            schedulingProfiles:
            - name: a
            - name: b
            """);

        Assert.Equal("test.yaml:4:3: plugins[0].type: single-profile-handler runs one scheduling profile, but 2 are configured", error);
    }


    [Fact]
    public void Load_PrefixScorerNamingMissingProducer_ErrorWithSuggestion()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            plugins:
            - name: producer-a
              type: approx-prefix-cache-producer
            - type: prefix-cache-scorer
              parameters: {prefixMatchInfoProducerName: producer-b}
            """);

        Assert.Equal("test.yaml:7:16: plugins[1].parameters.prefixMatchInfoProducerName: no approx-prefix-cache-producer plugin named \"producer-b\"; did you mean \"producer-a\"?", error);
    }

    [Fact]
    public void Load_EmptyText_Error()
    {
        Assert.Equal("test.yaml: the configuration is empty", TestConfigs.SingleError("# nothing here\n"));
    }

    [Fact]
    public void Load_MissingFile_ErrorNamesTheFile()
    {
        var result = TestConfigs.Loader.LoadFile("/nonexistent/epp.yaml");

        Assert.False(result.IsValid);
        Assert.StartsWith("/nonexistent/epp.yaml: cannot read the configuration file: ", Assert.Single(TestConfigs.Errors(result)), StringComparison.Ordinal);
    }
}
