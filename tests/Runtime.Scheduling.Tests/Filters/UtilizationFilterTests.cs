using Microsoft.Extensions.Time.Testing;
using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Filters;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.Tests.Support;

namespace Runtime.Scheduling.Tests.Filters;

public class UtilizationFilterTests
{
    private readonly FakeTimeProvider _time = new();

    private static UtilizationFilter Filter(bool fallbackOnEmpty, params (string Metric, double Max)[] conditions) => new("u", new UtilizationFilterParameters
    {
        Conditions = [.. conditions.Select(c => new UtilizationCondition { Metric = c.Metric, MaxValue = c.Max })],
        FallbackOnEmpty = fallbackOnEmpty,
    });

    private static string[] Kept(UtilizationFilter filter, EndpointState[] candidates)
    {
        var kept = filter.Filter(new SchedulingContext(), new SchedulingRequest(), candidates);
        return [.. candidates[..kept].Select(c => c.Endpoint.Name)];
    }

    [Fact]
    public void Filter_EveryConditionMustHold_AtTheCapIsKept()
    {
        var pool = TestEndpoints.States(4);
        pool[0].With(_time, waiting: 2, kv: 0.5, running: 3);
        pool[1].With(_time, waiting: 3, kv: 0.5, running: 3);
        pool[2].With(_time, waiting: 0, kv: 0.81, running: 0);
        pool[3].With(_time, waiting: 1, kv: 0.8, running: 9);

        var kept = Kept(Filter(false, (UtilizationFilterParameters.WaitingQueue, 2), (UtilizationFilterParameters.KvCacheUtilization, 0.8), (UtilizationFilterParameters.RunningRequests, 3)), pool);

        Assert.Equal(["pod-000"], kept);
    }

    [Fact]
    public void Filter_ActiveRequests_CountsWhatThisPickerHasInFlight()
    {
        var pool = TestEndpoints.States(2);
        pool[0].AddInFlight(10);
        pool[0].AddInFlight(10);
        pool[1].AddInFlight(10);

        Assert.Equal(["pod-001"], Kept(Filter(false, (UtilizationFilterParameters.ActiveRequests, 1)), pool));
    }

    [Fact]
    public void Filter_NeverScraped_CountsZero()
    {
        var pool = TestEndpoints.States(1);

        Assert.Equal(["pod-000"], Kept(Filter(false, (UtilizationFilterParameters.WaitingQueue, 0)), pool));
    }

    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 2)]
    public void Filter_AllOverTheCap_EmptyUnlessFallbackOnEmpty(bool fallbackOnEmpty, int expected)
    {
        var pool = TestEndpoints.States(2);
        pool[0].With(_time, waiting: 5);
        pool[1].With(_time, waiting: 6);

        Assert.Equal(expected, Kept(Filter(fallbackOnEmpty, (UtilizationFilterParameters.WaitingQueue, 4)), pool).Length);
    }

    [Fact]
    public void RequiredMetrics_OnlyTheScrapedOnesItReads() =>
        Assert.Equal(
            MetricKinds.WaitingQueue | MetricKinds.KvCacheUsage,
            Filter(false, (UtilizationFilterParameters.WaitingQueue, 1), (UtilizationFilterParameters.KvCacheUtilization, 0.5), (UtilizationFilterParameters.ActiveRequests, 3)).RequiredMetrics);
}
