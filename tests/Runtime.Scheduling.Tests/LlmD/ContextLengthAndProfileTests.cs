using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.LlmD;
using Runtime.Scheduling.Pickers;
using Runtime.Scheduling.Profiles;
using Runtime.Scheduling.Tests.Support;
using static Runtime.Scheduling.Tests.LlmD.LlmDTestSupport;

namespace Runtime.Scheduling.Tests.LlmD;

public class ContextLengthAndProfileTests
{
    private const string Label = ContextLengthAwareParameters.DefaultLabel;

    [Fact]
    public void ContextLength_ScoresInRangeHighest_UnlabelledNeutral()
    {
        EndpointState[] pool = [Labelled(0, (Label, "0-2048")), Labelled(1, (Label, "2049-32768")), Labelled(2), Labelled(3, (Label, "oops"))];
        var scorer = new ContextLengthAware("c", new ContextLengthAwareParameters());
        var scores = new double[4];

        // 4000 bytes ≈ 1000 tokens: inside the first range, 1049 below the second.
        scorer.Score(new SchedulingContext(), TestEndpoints.Request(new string('a', 4000)), pool, scores);

        Assert.Equal(ContextLengthAware.RangeScore(1000, 0, 2048), scores[0], 9);
        Assert.True(scores[0] > 0.3);
        Assert.Equal(0.3 / (1 + (1049 / 1000.0)), scores[1], 9);
        Assert.Equal(0.5, scores[2]);
        Assert.Equal(0.0, scores[3]);
    }

    [Fact]
    public void ContextLength_Filter_OnlyWithEnableFiltering()
    {
        EndpointState[] pool = [Labelled(0, (Label, "0-100")), Labelled(1, (Label, "101-5000")), Labelled(2)];
        var request = TestEndpoints.Request(new string('a', 2000));

        Assert.Equal(3, new ContextLengthAware("c", new ContextLengthAwareParameters()).Filter(new SchedulingContext(), request, pool.ToArray()));
        var candidates = pool.ToArray();
        var kept = new ContextLengthAware("c", Bind(BuiltInParameterBinders.ContextLengthAware, """{"enableFiltering": true}""")).Filter(new SchedulingContext(), request, candidates);
        Assert.Equal(["pod-001", "pod-002"], candidates[..kept].Select(c => c.Endpoint.Name));
    }

    [Fact]
    public void ContextLength_CustomLabel_AndEmptyLabelIsAnError()
    {
        EndpointState[] pool = [Labelled(0, ("ctx", "0-10")), Labelled(1, ("ctx", "11-99999"))];
        var candidates = pool.ToArray();
        var kept = new ContextLengthAware("c", Bind(BuiltInParameterBinders.ContextLengthAware, """{"label": "ctx", "enableFiltering": true}""")).Filter(new SchedulingContext(), TestEndpoints.Request(new string('a', 400)), candidates);

        Assert.Equal(["pod-001"], candidates[..kept].Select(c => c.Endpoint.Name));
        Assert.Contains(Errors(BuiltInParameterBinders.ContextLengthAware, """{"label": ""}"""), e => e.Contains("'label' must be specified", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("10-20", true, 10, 20)]
    [InlineData(" 10 - 20 ", true, 10, 20)]
    [InlineData("20-10", false, 0, 0)]
    [InlineData("10", false, 0, 0)]
    [InlineData("1-2-3", false, 0, 0)]
    [InlineData("a-b", false, 0, 0)]
    public void ContextLength_RangeLabel_AsLlmDParsesIt(string text, bool valid, long min, long max)
    {
        Assert.Equal(valid, ContextLengthAware.TryParseRange(text, out var low, out var high));
        if (valid)
        {
            Assert.Equal((min, max), (low, high));
        }
    }

    private static SchedulingProfile Only(string name, EndpointState endpoint) =>
        new(name, [new KeepOnly(endpoint)], [], new MaxScorePicker("m"));

    private sealed class KeepOnly(EndpointState keep) : IFilter
    {
        public string TypeName => "keep-only";

        public string Name => "keep-only";

        public int Filter(SchedulingContext context, SchedulingRequest request, Span<EndpointState> candidates)
        {
            candidates[0] = keep;
            return 1;
        }
    }

    private static SchedulingResult Schedule(HeaderProfileHandler handler, IReadOnlyList<SchedulingProfile> profiles, EndpointState[] pool, params (string, string)[] headers)
    {
        var request = TestEndpoints.Request("p");
        request.Headers = new TestHeaders(headers.ToDictionary(h => h.Item1, h => h.Item2));
        var result = new SchedulingResult();
        handler.Schedule(new SchedulingContext(), request, pool, profiles, result);
        return result;
    }

    [Fact]
    public void HeaderProfileHandler_RunsTheNamedProfile_DefaultDecode()
    {
        var pool = TestEndpoints.States(3);
        SchedulingProfile[] profiles = [Only("prefill", pool[0]), Only("decode", pool[1]), Only("batch", pool[2])];
        var handler = new HeaderProfileHandler("h", new HeaderProfileHandlerParameters());

        Assert.Same(pool[2], Schedule(handler, profiles, pool, ("epp-profile", " batch ")).Primary);
        Assert.Same(pool[1], Schedule(handler, profiles, pool).Primary);
        var unknown = Schedule(handler, profiles, pool, ("epp-profile", "gold"));
        Assert.Equal(SchedulingStatus.AllFiltered, unknown.Status);
        Assert.Equal(0, unknown.Count);
    }

    [Fact]
    public void HeaderProfileHandler_CustomHeaderAndDefault_SingleProfileAlwaysRuns()
    {
        var pool = TestEndpoints.States(2);
        SchedulingProfile[] profiles = [Only("a", pool[0]), Only("b", pool[1])];
        var handler = new HeaderProfileHandler("h", Bind(BuiltInParameterBinders.HeaderProfileHandler, """{"headerName": "X-Tier", "defaultProfile": "b"}"""));

        Assert.Same(pool[0], Schedule(handler, profiles, pool, ("x-tier", "a")).Primary);
        Assert.Same(pool[1], Schedule(handler, profiles, pool).Primary);
        Assert.Equal(SchedulingStatus.AllFiltered, Schedule(new HeaderProfileHandler("h", new HeaderProfileHandlerParameters()), profiles, pool).Status);
        Assert.Same(pool[0], Schedule(handler, [profiles[0]], pool, ("x-tier", "zzz")).Primary);
        Assert.NotEmpty(Errors(BuiltInParameterBinders.HeaderProfileHandler, """{"header": "x"}"""));
    }
}
