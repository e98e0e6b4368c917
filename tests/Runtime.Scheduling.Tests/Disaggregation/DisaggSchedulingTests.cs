using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Disaggregation;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.Tests.Support;

namespace Runtime.Scheduling.Tests.Disaggregation;

/// <summary>Role filters, deciders and the disagg / pd / data-parallel handlers picking over labelled pools.</summary>
public class DisaggSchedulingTests
{
    private const string PrefillHeader = "x-prefiller-host-port";
    private const string DpHeader = "x-data-parallel-host-port";
    private readonly DisaggTestSupport _support = new();

    private static int Filter(IFilter filter, EndpointState[] pool) => filter.Filter(new SchedulingContext(), new SchedulingRequest(), pool.ToArray());

    [Fact]
    public void DecodeFilter_KeepsDecodersCombinedRolesAndUnlabelled()
    {
        var pool = _support.Pool("decode", "prefill", "both", "prefill-decode", "encode-prefill-decode", null, "encode");
        var candidates = pool.ToArray();
        var kept = LabelValueFilter.Decode("d").Filter(new SchedulingContext(), new SchedulingRequest(), candidates);
        Assert.Equal(["pod-0", "pod-2", "pod-3", "pod-4", "pod-5"], candidates[..kept].Select(c => c.Endpoint.Name));
    }

    [Fact]
    public void PrefillFilter_KeepsPrefillRolesNotUnlabelled()
    {
        var pool = _support.Pool("decode", "prefill", "both", "prefill-decode", "encode-prefill", null, "encode");
        var candidates = pool.ToArray();
        var kept = LabelValueFilter.Prefill("p").Filter(new SchedulingContext(), new SchedulingRequest(), candidates);
        Assert.Equal(["pod-1", "pod-2", "pod-3", "pod-4"], candidates[..kept].Select(c => c.Endpoint.Name));
    }

    [Fact]
    public void EncodeFilter_KeepsEncodeRoles()
    {
        var pool = _support.Pool("encode", "prefill", "encode-prefill", null);
        Assert.Equal(2, Filter(LabelValueFilter.Encode("e"), pool));
    }

    [Fact]
    public void ByLabel_MissingLabelPassesOnlyWithAllowsNoLabel()
    {
        var pool = _support.Pool("decode", null, "prefill");
        Assert.Equal(1, Filter(LabelValueFilter.ByLabel("b", new ByLabelParameters { Label = "llm-d.ai/role", ValidValues = ["decode"] }), pool));
        Assert.Equal(2, Filter(LabelValueFilter.ByLabel("b", new ByLabelParameters { Label = "llm-d.ai/role", ValidValues = ["decode"], AllowsNoLabel = true }), pool));
    }

    [Fact]
    public void LabelSelector_MatchLabelsAndEveryOperator()
    {
        var pool = _support.Pool("decode", "prefill", null);
        Assert.Equal(1, Filter(new LabelSelectorFilter("s", "label-selector-filter", new LabelSelectorParameters { MatchLabels = new() { ["llm-d.ai/role"] = "prefill" } }), pool));
        Assert.Equal(2, Filter(new LabelSelectorFilter("s", "label-selector-filter", new LabelSelectorParameters { MatchExpressions = [new() { Key = "llm-d.ai/role", Operator = "In", Values = ["decode", "prefill"] }] }), pool));
        Assert.Equal(2, Filter(new LabelSelectorFilter("s", "label-selector-filter", new LabelSelectorParameters { MatchExpressions = [new() { Key = "llm-d.ai/role", Operator = "NotIn", Values = ["prefill"] }] }), pool));
        Assert.Equal(2, Filter(new LabelSelectorFilter("s", "label-selector-filter", new LabelSelectorParameters { MatchExpressions = [new() { Key = "llm-d.ai/role", Operator = "Exists" }] }), pool));
        Assert.Equal(1, Filter(new LabelSelectorFilter("s", "label-selector-filter", new LabelSelectorParameters { MatchExpressions = [new() { Key = "llm-d.ai/role", Operator = "DoesNotExist" }] }), pool));
        Assert.Equal(3, Filter(new LabelSelectorFilter("s", "label-selector-filter", new LabelSelectorParameters()), pool));
    }

    [Fact]
    public void Disagg_LongUncachedPrompt_DecodeDestinationAndPrefillHeader()
    {
        var scheduler = _support.Scheduler(DisaggTestSupport.PdConfig);
        var pool = _support.Pool("prefill", "decode", "prefill", "decode");
        var result = DisaggTestSupport.Schedule(scheduler, TestEndpoints.Request(TestEndpoints.LongPrompt(1, 2048)), pool);

        Assert.Equal(SchedulingStatus.Picked, result.Status);
        Assert.Equal("decode", result.Primary.Endpoint.Labels["llm-d.ai/role"]);
        Assert.NotNull(result.Prefill);
        Assert.Equal("prefill", result.Prefill!.Endpoint.Labels["llm-d.ai/role"]);
        Assert.Equal(result.Prefill.Endpoint.HostPort, DisaggTestSupport.HeaderValue(result, PrefillHeader));
    }

    [Fact]
    public void Disagg_ShortPrompt_DecodeOnlyAndClientHeaderRemoved()
    {
        var scheduler = _support.Scheduler(DisaggTestSupport.PdConfig);
        var pool = _support.Pool("prefill", "decode");
        var result = DisaggTestSupport.Schedule(scheduler, TestEndpoints.Request("hi there"), pool);

        Assert.Same(pool[1], result.Primary);
        Assert.Null(result.Prefill);
        Assert.True(DisaggTestSupport.Removes(result, PrefillHeader));
    }

    [Fact]
    public void Disagg_SamePromptAgain_IsCachedOnDecodeSoNoPrefill()
    {
        var scheduler = _support.Scheduler(DisaggTestSupport.PdConfig);
        var pool = _support.Pool("prefill", "decode", "decode");
        var prompt = TestEndpoints.LongPrompt(7, 1024);
        var first = DisaggTestSupport.Schedule(scheduler, TestEndpoints.Request(prompt), pool);
        Assert.NotNull(first.Prefill);

        var second = DisaggTestSupport.Schedule(scheduler, TestEndpoints.Request(prompt + " and a short tail"), pool);
        Assert.Same(first.Primary, second.Primary);
        Assert.Null(second.Prefill);
        Assert.Null(DisaggTestSupport.HeaderValue(second, PrefillHeader));
    }

    [Fact]
    public void Disagg_PrefillPick_IsRecordedInThePrefixIndex()
    {
        var (built, plugins) = _support.Build(DisaggTestSupport.PdConfig);
        var pool = _support.Pool("prefill", "decode");
        var result = DisaggTestSupport.Schedule(built.Scheduler!, TestEndpoints.Request(TestEndpoints.LongPrompt(3, 1024)), pool);
        Assert.Same(pool[0], result.Prefill);
        var producer = Assert.IsType<Runtime.Scheduling.Prefix.ApproxPrefixCacheProducer>(plugins["approx-prefix-cache-producer"]);
        Assert.True(producer.Index.Entries >= 2 * (1024 / 64), $"both endpoints' blocks are indexed, got {producer.Index.Entries}");
    }

    [Fact]
    public void Disagg_NoPrefillEndpoints_DecodeOnly()
    {
        var scheduler = _support.Scheduler(DisaggTestSupport.PdConfig);
        var pool = _support.Pool("decode", "decode");
        var result = DisaggTestSupport.Schedule(scheduler, TestEndpoints.Request(TestEndpoints.LongPrompt(2, 2048)), pool);
        Assert.Equal(SchedulingStatus.Picked, result.Status);
        Assert.Null(result.Prefill);
    }

    [Fact]
    public void Disagg_NoDecodeEndpoints_AllFiltered()
    {
        var scheduler = _support.Scheduler(DisaggTestSupport.PdConfig);
        var result = DisaggTestSupport.Schedule(scheduler, TestEndpoints.Request("x"), _support.Pool("prefill"));
        Assert.Equal(SchedulingStatus.AllFiltered, result.Status);
    }

    [Fact]
    public void Disagg_AlwaysDeciderDeclared_PrefillsEvenATinyPrompt()
    {
        var yaml = DisaggTestSupport.PdConfig
            .Replace("prefill: prefix-based-pd-decider", "prefill: always-disagg-pd-decider", StringComparison.Ordinal)
            .Replace("- type: prefix-based-pd-decider\n  parameters:\n    nonCachedTokens: 16\n", "- type: always-disagg-pd-decider\n", StringComparison.Ordinal);
        var scheduler = _support.Scheduler(yaml);
        var pool = _support.Pool("decode", "prefill");
        var result = DisaggTestSupport.Schedule(scheduler, TestEndpoints.Request("hi"), pool);
        Assert.Same(pool[0], result.Primary);
        Assert.Equal(pool[1].Endpoint.HostPort, DisaggTestSupport.HeaderValue(result, PrefillHeader));
    }

    [Fact]
    public void Disagg_NoDeciderConfigured_NeverPrefills()
    {
        var yaml = DisaggTestSupport.PdConfig.Replace("  parameters:\n    deciders:\n      prefill: prefix-based-pd-decider\n", string.Empty, StringComparison.Ordinal);
        var scheduler = _support.Scheduler(yaml);
        var result = DisaggTestSupport.Schedule(scheduler, TestEndpoints.Request(TestEndpoints.LongPrompt(4, 4096)), _support.Pool("decode", "prefill"));
        Assert.Null(result.Prefill);
    }

    [Fact]
    public void Disagg_PrefillFirst_RunsPrefillThenDecode()
    {
        var yaml = DisaggTestSupport.PdConfig.Replace("  parameters:\n    deciders:\n      prefill: prefix-based-pd-decider\n", "  parameters:\n    stageOrder: prefill-first\n", StringComparison.Ordinal);
        var scheduler = _support.Scheduler(yaml);
        var pool = _support.Pool("decode", "prefill");
        var result = DisaggTestSupport.Schedule(scheduler, TestEndpoints.Request("short"), pool);
        Assert.Same(pool[0], result.Primary);
        Assert.Same(pool[1], result.Prefill);
    }

    [Fact]
    public void Disagg_WithoutDecodeProfile_FailsToBuild()
    {
        var yaml = DisaggTestSupport.PdConfig.Replace("- name: decode", "- name: generate", StringComparison.Ordinal);
        var built = _support.Build(yaml).Built;
        Assert.False(built.IsValid);
        Assert.Contains("needs a scheduling profile named \"decode\" (its decode profile)", Assert.Single(built.Errors), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 0, 4096, false)] // nonCachedTokens 0 switches it off
    [InlineData(16, 0, 60, false)] // 15 estimated tokens < 16
    [InlineData(16, 0, 64, true)] // 16 tokens, none cached
    [InlineData(16, 2000, 4096, false)] // 1024 tokens < promptTokens 2000
    [InlineData(16, 1000, 4096, true)]
    public void PrefixDecider_Thresholds(int nonCached, int promptTokens, int promptBytes, bool expected)
    {
        var decider = new PrefixBasedPdDecider("d", new PrefixBasedPdDeciderParameters { NonCachedTokens = nonCached, PromptTokens = promptTokens });
        decider.UseProducer(new Runtime.Scheduling.Prefix.ApproxPrefixCacheProducer("p", new PrefixCacheScorerParameters(AutoTune: false)));
        var pool = TestEndpoints.States(2);
        var context = new SchedulingContext();
        context.BeginRequest();
        Assert.Equal(expected, decider.Disaggregate(context, TestEndpoints.Request(TestEndpoints.LongPrompt(5, promptBytes)), pool[0], pool));
    }

    [Fact]
    public void PdProfileHandler_PrimaryPort_SendsToPrimaryPortWithRankHeader()
    {
        var scheduler = _support.Scheduler("""
            plugins:
            - type: decode-filter
            - type: prefill-filter
            - type: always-disagg-pd-decider
            - type: pd-profile-handler
              parameters:
                deciderPluginName: always-disagg-pd-decider
                primaryPort: 9000
            schedulingProfiles:
            - name: decode
              plugins: [{pluginRef: decode-filter}]
            - name: prefill
              plugins: [{pluginRef: prefill-filter}]
            """);
        var pool = _support.Pool("decode", "prefill");
        var result = DisaggTestSupport.Schedule(scheduler, TestEndpoints.Request("x"), pool);
        Assert.Same(pool[0], result.Primary);
        Assert.Equal(9000, result.DestinationPort);
        Assert.Equal("10.0.0.1:8000", DisaggTestSupport.HeaderValue(result, DpHeader));
        Assert.Equal("10.0.0.2:8000", DisaggTestSupport.HeaderValue(result, PrefillHeader));
    }

    [Fact]
    public void DataParallel_PicksARank_HeaderNamesItAndPortIsPrimary()
    {
        var scheduler = _support.Scheduler("""
            plugins:
            - type: decode-filter
            - type: data-parallel-profile-handler
              parameters: {primaryPort: 8100}
            schedulingProfiles:
            - name: default
              plugins: [{pluginRef: decode-filter}]
            """);
        var pool = _support.Pool("decode", "prefill");
        var result = DisaggTestSupport.Schedule(scheduler, TestEndpoints.Request("x"), pool);
        Assert.Same(pool[0], result.Primary);
        Assert.Equal(8100, result.DestinationPort);
        Assert.Equal("10.0.0.1:8000", DisaggTestSupport.HeaderValue(result, DpHeader));
    }

    [Fact]
    public void DataParallel_TwoProfiles_FailsToBuild()
    {
        var built = _support.Build("""
            plugins:
            - type: data-parallel-profile-handler
            schedulingProfiles:
            - name: a
            - name: b
            """).Built;
        Assert.Contains("requires exactly one scheduling profile (Data Parallel), but 2 are configured", Assert.Single(built.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void DisaggHeadersHandler_SetsHeaderFromThePrefillPick()
    {
        var handler = new DisaggHeadersHandler("h", "disagg-headers-handler", "prefill");
        var disagg = new DisaggProfileHandler("d", "disagg-profile-handler", new DisaggSettings(DisaggStageOrder.DecodeFirst, "decode", "prefill", "encode", string.Empty, string.Empty, 0, false));
        handler.Wire(new SchedulerWiringContext(new Dictionary<string, Runtime.Plugins.IPlugin> { ["d"] = disagg }, [], []));
        var pool = TestEndpoints.States(2);
        var result = new SchedulingResult();
        result.Reset();
        result.Add(pool[0]);
        result.Prefill = pool[1];
        handler.PreRequest(new SchedulingContext(), new SchedulingRequest(), result);
        Assert.Equal(pool[1].Endpoint.HostPort, DisaggTestSupport.HeaderValue(result, PrefillHeader));

        var other = new DisaggHeadersHandler("h", "disagg-headers-handler", "elsewhere");
        other.Wire(new SchedulerWiringContext(new Dictionary<string, Runtime.Plugins.IPlugin> { ["d"] = disagg }, [], []));
        var second = new SchedulingResult();
        second.Reset();
        second.Prefill = pool[1];
        other.PreRequest(new SchedulingContext(), new SchedulingRequest(), second);
        Assert.Empty(second.Headers.ToArray());
    }
}
