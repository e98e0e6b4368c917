using Microsoft.Extensions.Time.Testing;
using Runtime.Endpoints;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.Scorers;
using Runtime.Scheduling.Tests.Support;

namespace Runtime.Scheduling.Tests.Scorers;

public class ScorerTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly SchedulingContext _context = new();

    private double[] Run(IScorer scorer, SchedulingRequest request, params EndpointState[] candidates)
    {
        var scores = new double[candidates.Length];
        scorer.Score(_context, request, candidates, scores);
        return scores;
    }

    [Fact]
    public void QueueScorer_MixedQueues_MinMaxNormalisedShortestBest()
    {
        var scores = Run(new QueueScorer("q"), new SchedulingRequest(), TestEndpoints.State(0).With(_time, waiting: 0), TestEndpoints.State(1).With(_time, waiting: 5), TestEndpoints.State(2).With(_time, waiting: 10));
        Assert.Equal([1.0, 0.5, 0.0], scores);
    }

    [Fact]
    public void QueueScorer_AllEqual_AllOne()
    {
        var scores = Run(new QueueScorer("q"), new SchedulingRequest(), TestEndpoints.State(0).With(_time, waiting: 3), TestEndpoints.State(1).With(_time, waiting: 3));
        Assert.Equal([1.0, 1.0], scores);
    }

    [Fact]
    public void QueueScorer_NeverScraped_CountsAsEmptyQueueAsGieDoes()
    {
        var scores = Run(new QueueScorer("q"), new SchedulingRequest(), TestEndpoints.State(0), TestEndpoints.State(1).With(_time, waiting: 4));
        Assert.Equal([1.0, 0.0], scores);
    }

    [Fact]
    public void RunningRequestsSizeScorer_FewerRunning_Better()
    {
        var scores = Run(new RunningRequestsSizeScorer("r"), new SchedulingRequest(), TestEndpoints.State(0).With(_time, running: 2), TestEndpoints.State(1).With(_time, running: 6), TestEndpoints.State(2).With(_time, running: 4));
        Assert.Equal([1.0, 0.0, 0.5], scores);
    }

    [Fact]
    public void KvCacheUtilizationScorer_OneMinusUse_NaNAndOverflowClampedToZero()
    {
        var scores = Run(new KvCacheUtilizationScorer("kv"), new SchedulingRequest(), TestEndpoints.State(0).With(_time, kv: 0.25), TestEndpoints.State(1).With(_time, kv: double.NaN), TestEndpoints.State(2).With(_time, kv: 1.5));
        Assert.Equal(0.75, scores[0]);
        Assert.Equal(0.0, ScoreMath.Clamp01(scores[1]));
        Assert.Equal(0.0, ScoreMath.Clamp01(scores[2]));
    }

    [Fact]
    public void KvCacheScorer_DeprecatedAlias_KeepsItsTypeName()
    {
        Assert.Equal("kv-cache-scorer", new KvCacheUtilizationScorer("old", "kv-cache-scorer").TypeName);
    }

    [Fact]
    public void LoraAffinityScorer_ActiveFreeSlotWaitingFull_ScoresAsGie()
    {
        var active = Lora(active: ["sql", "chat"], waiting: [], max: 2);
        var freeSlot = Lora(active: ["chat"], waiting: [], max: 2);
        var waiting = Lora(active: ["chat"], waiting: ["sql"], max: 2);
        var full = Lora(active: ["chat", "code"], waiting: [], max: 2);
        var scores = Run(new LoraAffinityScorer("lora"), new SchedulingRequest { TargetModel = "sql" }, active, freeSlot, waiting, full);
        Assert.Equal([1.0, 0.8, 0.6, 0.0], scores);
    }

    [Fact]
    public void LoraAffinityScorer_BaseModelRequest_FreeSlotOnlyAsGie()
    {
        var scores = Run(new LoraAffinityScorer("lora"), new SchedulingRequest { TargetModel = "llama-base" }, Lora(["chat"], [], 4), Lora(["a", "b"], [], 2), TestEndpoints.State(9));
        Assert.Equal([0.8, 0.0, 0.0], scores);
    }

    private EndpointState Lora(string[] active, string[] waiting, int max)
    {
        var state = TestEndpoints.State(Random.Shared.Next(1000));
        state.PublishMetrics(new EndpointMetrics { ActiveLoraAdapters = active, WaitingLoraAdapters = waiting, MaxLoraAdapters = max, UpdatedAtTimestamp = _time.GetTimestamp() });
        return state;
    }
}
