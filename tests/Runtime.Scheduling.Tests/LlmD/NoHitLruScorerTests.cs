using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.LlmD;
using Runtime.Scheduling.Tests.Support;
using static Runtime.Scheduling.Tests.LlmD.LlmDTestSupport;

namespace Runtime.Scheduling.Tests.LlmD;

public class NoHitLruScorerTests
{
    private readonly SchedulingContext _context = new();

    private double[] Score(NoHitLruScorer scorer, SchedulingRequest request, EndpointState[] pool)
    {
        _context.BeginRequest();
        var scores = new double[pool.Length];
        scorer.Score(_context, request, pool, scores);
        return scores;
    }

    private void Pick(NoHitLruScorer scorer, SchedulingRequest request, EndpointState picked)
    {
        var result = new SchedulingResult();
        result.Add(picked);
        result.Status = SchedulingStatus.Picked;
        scorer.PreRequest(_context, request, result);
    }

    [Fact]
    public void ColdRequests_GoToTheLeastRecentlyUsed()
    {
        var pool = TestEndpoints.States(3);
        var scorer = new NoHitLruScorer("n", new NoHitLruScorerParameters());

        // Nothing used yet: candidate order, 1, 0.5, 0.
        var first = TestEndpoints.Request(TestEndpoints.LongPrompt(1));
        Assert.Equal([1.0, 0.5, 0.0], Score(scorer, first, pool));
        Pick(scorer, first, pool[0]);

        // pod-000 was just used: the never-used ones come first, it last.
        var second = TestEndpoints.Request(TestEndpoints.LongPrompt(2));
        Assert.Equal([0.0, 1.0, 0.5], Score(scorer, second, pool));
        Pick(scorer, second, pool[1]);

        var third = TestEndpoints.Request(TestEndpoints.LongPrompt(3));
        Assert.Equal([0.5, 0.0, 1.0], Score(scorer, third, pool));
    }

    [Fact]
    public void WarmRequest_ScoresNeutral_AndDoesNotTouchTheLru()
    {
        var pool = TestEndpoints.States(3);
        var scorer = new NoHitLruScorer("n", new NoHitLruScorerParameters());
        var prompt = TestEndpoints.Request(TestEndpoints.LongPrompt(1));
        Score(scorer, prompt, pool);
        Pick(scorer, prompt, pool[1]);
        Assert.Equal(1, scorer.Remembered);

        // The same prompt again: pod-001 has its prefix, so the request is warm.
        Assert.Equal([0.5, 0.5, 0.5], Score(scorer, prompt, pool));
        Pick(scorer, prompt, pool[2]);
        Assert.Equal(1, scorer.Remembered);
    }

    [Fact]
    public void LruSize_BoundsTheRememberedEndpoints()
    {
        var pool = TestEndpoints.States(5);
        var scorer = new NoHitLruScorer("n", Bind(BuiltInParameterBinders.NoHitLruScorer, """{"lruSize": 2, "prefixPluginType": "prefix-cache-scorer", "prefixPluginName": "p"}"""));
        foreach (var endpoint in pool)
        {
            scorer.Touch(endpoint);
        }

        Assert.Equal(2, scorer.Remembered);
        Assert.NotEmpty(Errors(BuiltInParameterBinders.NoHitLruScorer, """{"lruSize": "big"}"""));
        Assert.NotEmpty(Errors(BuiltInParameterBinders.NoHitLruScorer, """{"lru": 3}"""));
    }
}
