using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.LlmD;
using Runtime.Scheduling.Tests.Support;
using static Runtime.Scheduling.Tests.LlmD.LlmDTestSupport;

namespace Runtime.Scheduling.Tests.LlmD;

public class EndpointAttributeTests
{
    private const string Gpu = BuiltInPlugins.GpuUtilizationAttribute;

    private static EndpointState[] Pool(params double?[] values)
    {
        var pool = TestEndpoints.States(values.Length);
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] is { } value)
            {
                pool[i].Attributes.Set(Gpu, value);
            }
        }

        return pool;
    }

    private static string[] Kept(string json, EndpointState[] pool)
    {
        var filter = new EndpointAttributeFilter("f", Bind(BuiltInParameterBinders.EndpointAttributeFilter, json));
        var candidates = pool.ToArray();
        var kept = filter.Filter(new SchedulingContext(), new SchedulingRequest(), candidates);
        return [.. candidates[..kept].Select(c => c.Endpoint.Name)];
    }

    [Theory]
    [InlineData("LessThan", new[] { "pod-000" })]
    [InlineData("LessThanOrEqual", new[] { "pod-000", "pod-001" })]
    [InlineData("GreaterThan", new[] { "pod-002" })]
    [InlineData("GreaterThanOrEqual", new[] { "pod-001", "pod-002" })]
    [InlineData("Equal", new[] { "pod-001" })]
    [InlineData("NotEqual", new[] { "pod-000", "pod-002" })]
    public void Filter_Threshold_EachOperator(string op, string[] expected)
    {
        var json = """{"attribute": "GPUUtilization/dcgm-extractor", "onMissing": "Fail", "algorithm": {"type": "threshold", "threshold": {"operator": "OP", "value": 0.5}}}""".Replace("OP", op, StringComparison.Ordinal);

        Assert.Equal(expected, Kept(json, Pool(0.2, 0.5, 0.9, null)));
    }

    [Fact]
    public void Filter_OnMissingPassByDefault_FallbackOnEmpty()
    {
        var pool = Pool(0.95, null, 0.99);
        Assert.Equal(["pod-001"], Kept("""{"attribute": "GPUUtilization/dcgm-extractor", "algorithm": {"type": "threshold", "threshold": {"operator": "LessThanOrEqual", "value": 0.9}}}""", pool));

        var all = Pool(0.95, 0.97);
        Assert.Empty(Kept("""{"attribute": "GPUUtilization/dcgm-extractor", "algorithm": {"type": "threshold", "threshold": {"operator": "LessThan", "value": 0.9}}}""", all));
        Assert.Equal(["pod-000", "pod-001"], Kept("""{"attribute": "GPUUtilization/dcgm-extractor", "fallbackOnEmpty": true, "algorithm": {"type": "threshold", "threshold": {"operator": "LessThan", "value": 0.9}}}""", all));
    }

    [Theory]
    [InlineData("""{"algorithm": {"type": "threshold", "threshold": {"operator": "LessThan", "value": 1}}}""", "endpoint attribute filter requires a non-empty attribute")]
    [InlineData("""{"attribute": "a", "onMissing": "Skip", "algorithm": {"type": "threshold", "threshold": {"operator": "LessThan", "value": 1}}}""", "onMissing must be \"Pass\" or \"Fail\", got \"Skip\"")]
    [InlineData("""{"attribute": "a", "algorithm": {"type": "percentile"}}""", "algorithm.type must be \"threshold\", got \"percentile\"")]
    [InlineData("""{"attribute": "a", "algorithm": {"type": "threshold"}}""", "requires algorithm.threshold when algorithm.type is \"threshold\"")]
    [InlineData("""{"attribute": "a", "algorithm": {"type": "threshold", "threshold": {"operator": "LessThen", "value": 1}}}""", "threshold.operator must be one of")]
    [InlineData("""{"attribute": "a", "algorithm": {"type": "threshold", "threshold": {"operator": "LessThan", "value": 1, "unit": "%"}}}""", "unit")]
    public void Filter_BadParameters_AreErrors(string json, string expected)
    {
        Assert.Contains(Errors(BuiltInParameterBinders.EndpointAttributeFilter, json), e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Scorer_FixedRangeLowerIsBetter_ClampsAndMissingScoresZero()
    {
        var scorer = new EndpointAttributeScorer("s", Bind(BuiltInParameterBinders.EndpointAttributeScorer, """{"attributeKey": "GPUUtilization/dcgm-extractor", "algorithm": {"type": "linear_lower_is_better", "normalization": {"fixedRange": {"min": 0.0, "max": 1.0}}}}"""));
        var scores = new double[4];

        scorer.Score(new SchedulingContext(), new SchedulingRequest(), Pool(0.25, 1.5, 0.0, null), scores);

        Assert.Equal([0.75, 0.0, 1.0, 0.0], scores);
    }

    [Fact]
    public void Scorer_AdaptiveRangeHigherIsBetter_UsesTheCandidatesRange()
    {
        var scorer = new EndpointAttributeScorer("s", Bind(BuiltInParameterBinders.EndpointAttributeScorer, """{"attributeKey": "GPUUtilization/dcgm-extractor", "algorithm": {"type": "linear_higher_is_better", "normalization": {"adaptiveRange": {}}}}"""));
        var scores = new double[3];
        scorer.Score(new SchedulingContext(), new SchedulingRequest(), Pool(10, 20, 30), scores);
        Assert.Equal([0.0, 0.5, 1.0], scores);

        scorer.Score(new SchedulingContext(), new SchedulingRequest(), Pool(7, 7, null), scores);
        Assert.Equal([1.0, 1.0, 0.0], scores);
    }

    [Theory]
    [InlineData("""{"algorithm": {"type": "linear_lower_is_better"}}""", "requires a non-empty attributeKey")]
    [InlineData("""{"attributeKey": "a", "algorithm": {"type": "lower"}}""", "algorithm.type must be \"linear_lower_is_better\" or \"linear_higher_is_better\", got \"lower\"")]
    [InlineData("""{"attributeKey": "a", "algorithm": {"type": "linear_lower_is_better", "normalization": {"fixedRange": {"min": 1, "max": 1}}}}""", "requires min < max, got min 1, max 1")]
    [InlineData("""{"attributeKey": "a", "algorithm": {"type": "linear_lower_is_better", "normalization": {"fixedRange": {"min": 0, "max": 1}, "adaptiveRange": {}}}}""", "at most one normalization strategy")]
    public void Scorer_BadParameters_AreErrors(string json, string expected)
    {
        Assert.Contains(Errors(BuiltInParameterBinders.EndpointAttributeScorer, json), e => e.Contains(expected, StringComparison.Ordinal));
    }
}
