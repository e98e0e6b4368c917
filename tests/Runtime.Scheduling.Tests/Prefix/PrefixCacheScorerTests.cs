using System.Buffers;
using System.Text;
using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.Prefix;
using Runtime.Scheduling.Scorers;
using Runtime.Scheduling.Tests.Support;

namespace Runtime.Scheduling.Tests.Prefix;

public class PrefixCacheScorerTests
{
    private readonly SchedulingContext _context = new();

    private double[] Score(PrefixCacheScorer scorer, SchedulingRequest request, EndpointState[] candidates)
    {
        _context.BeginRequest();
        var scores = new double[candidates.Length];
        scorer.Score(_context, request, candidates, scores);
        return scores;
    }

    private void Picked(PrefixCacheScorer scorer, SchedulingRequest request, EndpointState[] candidates, EndpointState picked)
    {
        Score(scorer, request, candidates);
        var result = new SchedulingResult();
        result.Add(picked);
        scorer.PreRequest(_context, request, result);
    }

    private static PrefixCacheScorer Scorer(int lru = 0, long maxBytes = PrefixIndex.DefaultMaxBytes) =>
        new("prefix", new PrefixCacheScorerParameters { LruCapacityPerServer = lru }, new PrefixIndex(maxBytes));

    [Fact]
    public void Score_SamePromptAfterPick_FullMatchOnPickedEndpointOnly()
    {
        var scorer = Scorer();
        var endpoints = TestEndpoints.States(3);
        var request = TestEndpoints.Request(TestEndpoints.LongPrompt(1));
        Assert.Equal([0.0, 0.0, 0.0], Score(scorer, request, endpoints));
        Picked(scorer, request, endpoints, endpoints[1]);
        Assert.Equal([0.0, 1.0, 0.0], Score(scorer, request, endpoints));
    }

    [Fact]
    public void Score_SharedPrefixThenDivergence_MatchedLeadingBlocksOverTotal()
    {
        var scorer = Scorer();
        var endpoints = TestEndpoints.States(2);
        var prompt = TestEndpoints.LongPrompt(2, 64 * 10);
        Picked(scorer, TestEndpoints.Request(prompt), endpoints, endpoints[0]);
        var diverged = prompt[..(64 * 4)] + TestEndpoints.LongPrompt(3, 64 * 6);
        var scores = Score(scorer, TestEndpoints.Request(diverged), endpoints);
        Assert.Equal(0.4, scores[0], 10);
        Assert.Equal(0.0, scores[1]);
    }

    [Fact]
    public void Score_DifferentModelOrCacheSalt_DoesNotShare()
    {
        var scorer = Scorer();
        var endpoints = TestEndpoints.States(2);
        var prompt = TestEndpoints.LongPrompt(4);
        Picked(scorer, TestEndpoints.Request(prompt, "llama", "tenant-a"), endpoints, endpoints[0]);
        Assert.Equal(1.0, Score(scorer, TestEndpoints.Request(prompt, "llama", "tenant-a"), endpoints)[0]);
        Assert.Equal(0.0, Score(scorer, TestEndpoints.Request(prompt, "llama", "tenant-b"), endpoints)[0]);
        Assert.Equal(0.0, Score(scorer, TestEndpoints.Request(prompt, "llama"), endpoints)[0]);
        Assert.Equal(0.0, Score(scorer, TestEndpoints.Request(prompt, "mistral", "tenant-a"), endpoints)[0]);
    }

    [Fact]
    public void Score_ShorterThanOneBlock_ZeroEverywhere()
    {
        var scorer = Scorer();
        var endpoints = TestEndpoints.States(2);
        Picked(scorer, TestEndpoints.Request("short"), endpoints, endpoints[0]);
        Assert.Equal([0.0, 0.0], Score(scorer, TestEndpoints.Request("short"), endpoints));
    }

    [Fact]
    public void Score_MultiSegmentPrompt_SameAsSingleSegment()
    {
        var scorer = Scorer();
        var endpoints = TestEndpoints.States(2);
        var bytes = Encoding.UTF8.GetBytes(TestEndpoints.LongPrompt(5, 5000));
        Picked(scorer, new SchedulingRequest { TargetModel = "m", Prompt = new ReadOnlySequence<byte>(bytes) }, endpoints, endpoints[1]);
        foreach (var segmentSize in new[] { 1, 7, 63, 64, 100, 4096 })
        {
            var scores = Score(scorer, new SchedulingRequest { TargetModel = "m", Prompt = TestEndpoints.Segmented(bytes, segmentSize) }, endpoints);
            Assert.Equal([0.0, 1.0], scores);
        }
    }

    [Fact]
    public void Add_BeyondLruCapacity_KeepsBoundAndMostRecentPrefix()
    {
        var scorer = Scorer(lru: 300);
        var endpoint = TestEndpoints.States(1);
        for (var i = 0; i < 20; i++)
        {
            Picked(scorer, TestEndpoints.Request(TestEndpoints.LongPrompt(100 + i)), endpoint, endpoint[0]);
            Assert.InRange(scorer.Index.CountFor(endpoint[0]), 1, 300);
        }

        Assert.Equal(300, scorer.Index.CountFor(endpoint[0]));
        Assert.Equal(1.0, Score(scorer, TestEndpoints.Request(TestEndpoints.LongPrompt(119)), endpoint)[0]);
        Assert.Equal(0.0, Score(scorer, TestEndpoints.Request(TestEndpoints.LongPrompt(100)), endpoint)[0]);
    }

    [Fact]
    public void Add_ManyEndpoints_TotalMemoryStaysWithinBudget()
    {
        const long budget = 64 * 1024;
        var scorer = Scorer(maxBytes: budget);
        var endpoints = TestEndpoints.States(50);
        for (var i = 0; i < 200; i++)
        {
            Picked(scorer, TestEndpoints.Request(TestEndpoints.LongPrompt(i)), endpoints, endpoints[i % endpoints.Length]);
            Assert.InRange(scorer.Index.ReservedBytes, 0, budget);
        }

        // The most recent prompt is still matched: a full index evicts, it does not stop learning.
        Assert.True(Score(scorer, TestEndpoints.Request(TestEndpoints.LongPrompt(199)), endpoints)[199 % 50] > 0);
    }

    [Fact]
    public void PurgeRetired_EndpointLeftThePool_DroppedAndBudgetReturned()
    {
        var scorer = Scorer();
        var store = new EndpointStore();
        store.Publish([new Endpoint("a", "10.0.0.1", 8000), new Endpoint("b", "10.0.0.2", 8000)]);
        var endpoints = store.Current.Endpoints;
        Picked(scorer, TestEndpoints.Request(TestEndpoints.LongPrompt(7)), endpoints, endpoints[0]);
        Assert.Equal(1, scorer.Index.EndpointCount);
        var reserved = scorer.Index.ReservedBytes;
        Assert.True(reserved > 0);

        store.Publish([new Endpoint("b", "10.0.0.2", 8000)]);
        Assert.True(endpoints[0].IsRetired);
        scorer.Index.PurgeRetired();
        Assert.Equal(0, scorer.Index.EndpointCount);
        Assert.Equal(0, scorer.Index.ReservedBytes);
    }

    [Fact]
    public void Add_RetiredEndpointAfterManyPicks_PurgedLazily()
    {
        var scorer = Scorer();
        var store = new EndpointStore();
        store.Publish([new Endpoint("a", "10.0.0.1", 8000), new Endpoint("b", "10.0.0.2", 8000)]);
        var first = store.Current.Endpoints;
        Picked(scorer, TestEndpoints.Request(TestEndpoints.LongPrompt(8)), first, first[0]);
        store.Publish([new Endpoint("b", "10.0.0.2", 8000)]);
        var current = store.Current.Endpoints;
        for (var i = 0; i <= PrefixIndex.PurgeInterval; i++)
        {
            Picked(scorer, TestEndpoints.Request(TestEndpoints.LongPrompt(9, 128)), current, current[0]);
        }

        Assert.Equal(1, scorer.Index.EndpointCount);
        Assert.Equal(0, scorer.Index.CountFor(first[0]));
    }
}
