namespace Runtime.Configuration.Tests.Validation;

/// <summary>The defaults the Go project injects, made explicit in the effective configuration.</summary>
public class ConfigDefaultsTests
{
    [Fact]
    public void Load_NoProfiles_DefaultProfileHoldsEveryFilterScorerAndPicker()
    {
        var result = TestConfigs.Load(TestConfigs.Header + """
            plugins:
            - type: queue-scorer
            - type: concurrency-detector
            - type: openai-parser
            - name: picker
              type: random-picker
            """);

        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
        var profile = Assert.Single(result.Config!.SchedulingProfiles);
        Assert.Equal("default", profile.Name);

        // concurrency-detector is also a filter (as in the Go project); the parser is not a profile plugin.
        Assert.Equal([("queue-scorer", 1.0), ("concurrency-detector", (double?)null), ("picker", null)], profile.Plugins.Select(r => (r.PluginRef, r.Weight)));
        Assert.DoesNotContain(result.Config.Plugins, p => p.Type == "max-score-picker");
    }

    [Fact]
    public void Load_ProfileWithoutPicker_DeclaredPickerAppendedNotInjected()
    {
        var result = TestConfigs.Load(TestConfigs.Header + """
            plugins:
            - type: queue-scorer
            - name: fallback-picker
              type: weighted-random-picker
            schedulingProfiles:
            - name: default
              plugins:
              - pluginRef: queue-scorer
                weight: 4
            """);

        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
        Assert.Equal([("queue-scorer", 4.0), ("fallback-picker", (double?)null)], result.Config!.SchedulingProfiles[0].Plugins.Select(r => (r.PluginRef, r.Weight)));
    }

    [Fact]
    public void Load_ExplicitParserAndDetector_KeptAndNotInjectedAgain()
    {
        var result = TestConfigs.Load(TestConfigs.Header + """
            plugins:
            - name: parser
              type: openai-parser
            - name: detector
              type: concurrency-detector
              parameters: {maxConcurrency: 64}
            parser:
              pluginRef: parser
            saturationDetector:
              pluginRef: detector
            """);

        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
        Assert.Equal("parser", result.Config!.Parser!.PluginRef);
        Assert.Equal("detector", result.Config.SaturationDetector!.PluginRef);
        Assert.DoesNotContain(result.Config.Plugins, p => p.Name is "openai-parser" or "utilization-detector");
    }

    [Fact]
    public void Load_LegacyInlineThresholds_ConfigureTheDefaultDetectorWithWarning()
    {
        var result = TestConfigs.Load(TestConfigs.Header + """
            saturationDetector:
              queueDepthThreshold: 10
              kvCacheUtilThreshold: 0.9
              metricsStalenessThreshold: 500ms
            """);

        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
        var detector = Assert.Single(result.Config!.Plugins, p => p.Type == "utilization-detector");
        Assert.Equal("""{"queueDepthThreshold":10,"kvCacheUtilThreshold":0.9,"metricsStalenessThreshold":"500ms"}""", detector.Parameters!.Value.GetRawText());
        Assert.Equal(
            ["test.yaml:3:1: saturationDetector: inline thresholds are the older form; declare a utilization-detector plugin with these parameters and reference it with pluginRef"],
            TestConfigs.Warnings(result));
    }

    [Fact]
    public void Load_LegacyThresholdOutOfRange_Error()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + """
            saturationDetector:
              kvCacheUtilThreshold: 80
            """);

        Assert.Equal("test.yaml:4:3: saturationDetector.kvCacheUtilThreshold: must be in (0, 1], got 80", error);
    }

    [Fact]
    public void Load_FlowControlWithoutGate_IgnoredWithWarningPoliciesDeclaredAsInGo()
    {
        var result = TestConfigs.Load(TestConfigs.Header + """
            flowControl:
              maxBytes: 1Gi
              usageLimitPolicyPluginRef: not-checked-while-off
            """);

        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
        Assert.Equal(["test.yaml:3:1: flowControl: ignored: the flowControl feature gate is off (add it to featureGates)"], TestConfigs.Warnings(result));

        // GIE's ensureFlowControlLayer declares the default policies whether or not the gate is on.
        Assert.Equal(
            ["fcfs-ordering-policy", "global-strict-fairness-policy", "static-usage-limit-policy"],
            result.Config!.Plugins.Where(p => p.Type!.EndsWith("-policy", StringComparison.Ordinal)).Select(p => p.Type));
    }

    [Fact]
    public void Load_WeightOnPicker_AcceptedWithWarning()
    {
        var result = TestConfigs.Load(TestConfigs.Header + """
            plugins:
            - type: max-score-picker
            schedulingProfiles:
            - name: default
              plugins:
              - pluginRef: max-score-picker
                weight: 2
            """);

        Assert.True(result.IsValid);
        Assert.Equal(["test.yaml:9:5: schedulingProfiles[0].plugins[0].weight: ignored: weights apply to scorers, and \"max-score-picker\" is a picker"], TestConfigs.Warnings(result));
    }

    [Fact]
    public void Load_FeatureGateListWithExplicitValues_LlmDFormAccepted()
    {
        var result = TestConfigs.Load(TestConfigs.Header + "featureGates: [flowControl=True, haPopulateNonLeaderDatastore=f]\n");

        Assert.True(result.IsValid, string.Join("\n", TestConfigs.Errors(result)));
        Assert.True(result.FeatureGates!.IsEnabled("flowControl"));
        Assert.False(result.FeatureGates.IsEnabled("haPopulateNonLeaderDatastore"));
    }

    [Fact]
    public void Load_FeatureGateListEntryWithBadValue_Error()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + "featureGates: [flowControl=yes]\n");

        Assert.Equal("test.yaml:3:16: featureGates[0]: \"flowControl=yes\": a list entry is a gate name, optionally followed by =true or =false (got \"yes\")", error);
    }

    [Fact]
    public void Load_FeatureGateMapWithNonBoolean_Error()
    {
        var error = TestConfigs.SingleError(TestConfigs.Header + "featureGates:\n  flowControl: on\n");

        Assert.Equal("test.yaml:4:3: featureGates.flowControl: expected true or false, got a string", error);
    }

    [Fact]
    public void Load_BothConfigFlags_TextWinsWithWarning()
    {
        var result = TestConfigs.Loader.LoadFromFlags("/some/file.yaml", TestConfigs.Header);

        Assert.True(result.IsValid);
        Assert.Equal("<config-text>", result.Source);
        Assert.Equal(["<config-text>: both --config-file (/some/file.yaml) and --config-text are set; using --config-text, as the Go endpoint picker does"], TestConfigs.Warnings(result));
    }

    [Fact]
    public void Load_NoFlags_BuiltInDefault()
    {
        var result = TestConfigs.Loader.LoadFromFlags(null, null);

        Assert.True(result.IsValid);
        Assert.Equal("<default config>", result.Source);
        // GIE's default set: three scorers, the prefix producer, the metrics source and extractor,
        // the profile handler, picker, parser, saturation detector and the three flow-control policies.
        Assert.Equal(13, result.Config!.Plugins.Count);
    }
}
