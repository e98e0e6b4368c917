using Microsoft.Extensions.Time.Testing;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.LlmD;
using Runtime.Scheduling.Tests.Support;
using static Runtime.Scheduling.Tests.LlmD.LlmDTestSupport;

namespace Runtime.Scheduling.Tests.LlmD;

public class LoadScorerTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void ActiveRequest_IdleScoresOne_BusyScaledByTheBusiest()
    {
        var pool = TestEndpoints.States(3);
        for (var i = 0; i < 4; i++)
        {
            pool[0].AddInFlight(1);
        }

        pool[1].AddInFlight(1);
        var scores = new double[3];

        new ActiveRequestScorer("a", new ActiveRequestScorerParameters()).Score(new SchedulingContext(), new SchedulingRequest(), pool, scores);

        // max 4: the busiest 0, one in flight (4 - 1) / 4, idle 1.
        Assert.Equal([0.0, 0.75, 1.0], scores);
    }

    [Fact]
    public void ActiveRequest_IdleThresholdAndMaxBusyScore_AsLlmD()
    {
        var pool = TestEndpoints.States(3);
        pool[0].AddInFlight(1);
        for (var i = 0; i < 2; i++)
        {
            pool[1].AddInFlight(1);
        }

        for (var i = 0; i < 4; i++)
        {
            pool[2].AddInFlight(1);
        }

        var scores = new double[3];
        var parameters = Bind(BuiltInParameterBinders.ActiveRequestScorer, """{"idleThreshold": 1, "maxBusyScore": 0.5, "requestTimeout": "2m", "inFlightLoadProducerName": "x"}""");

        new ActiveRequestScorer("a", parameters).Score(new SchedulingContext(), new SchedulingRequest(), pool, scores);

        Assert.Equal([1.0, 0.25, 0.0], scores);
    }

    [Fact]
    public void ActiveRequest_OutOfRangeValues_WarnAndFallBack()
    {
        var warnings = Warnings(BuiltInParameterBinders.ActiveRequestScorer, """{"maxBusyScore": 1.5, "idleThreshold": -1, "requestTimeout": "5s"}""");

        Assert.Equal(3, warnings.Length);
        Assert.Equal(1.0, Bind(BuiltInParameterBinders.ActiveRequestScorer, """{"maxBusyScore": 1.5}""").EffectiveMaxBusyScore);
        Assert.Contains(Errors(BuiltInParameterBinders.ActiveRequestScorer, """{"idleTreshold": 1}"""), e => e.Contains("idleTreshold", StringComparison.Ordinal));
    }

    [Fact]
    public void LoadAware_EmptyQueueHalf_QueueScaledToThreshold()
    {
        var pool = TestEndpoints.States(4);
        pool[0].With(_time, waiting: 0);
        pool[1].With(_time, waiting: 5);
        pool[2].With(_time, waiting: 10);
        pool[3].With(_time, waiting: 50);
        var scores = new double[4];

        new LoadAwareScorer("l", Bind(BuiltInParameterBinders.LoadAwareScorer, """{"threshold": 10}""").EffectiveThreshold).Score(new SchedulingContext(), new SchedulingRequest(), pool, scores);

        Assert.Equal([0.5, 0.25, 0.0, 0.0], scores);
    }

    [Fact]
    public void LoadAware_BadThreshold_WarnsAndUsesDefault()
    {
        Assert.Single(Warnings(BuiltInParameterBinders.LoadAwareScorer, """{"threshold": 0}"""));
        Assert.Equal(LoadAwareScorerParameters.DefaultThreshold, Bind(BuiltInParameterBinders.LoadAwareScorer, """{"threshold": -3}""").EffectiveThreshold);
        Assert.NotEmpty(Errors(BuiltInParameterBinders.LoadAwareScorer, """{"threshold": "high"}"""));
    }
}
