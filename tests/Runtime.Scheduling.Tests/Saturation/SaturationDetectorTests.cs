using Microsoft.Extensions.Time.Testing;
using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Values;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.Saturation;
using Runtime.Scheduling.Tests.Support;

namespace Runtime.Scheduling.Tests.Saturation;

public class SaturationDetectorTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly EndpointStore _store = new();

    private EndpointState[] Pool(int count)
    {
        _store.Publish(Enumerable.Range(0, count).Select(i => new Endpoint($"p{i}", $"10.0.0.{i + 1}", 8000)));
        return _store.Current.Endpoints;
    }

    private UtilizationDetector Utilization(UtilizationDetectorParameters? parameters = null) =>
        new("u", parameters ?? new UtilizationDetectorParameters { KvCacheUtilThreshold = 0.9, MetricsStalenessThreshold = new Duration(TimeSpan.FromMilliseconds(100)) }, _store, _time);

    [Fact]
    public void Utilization_EmptyPool_SaturatedFailClosed()
    {
        Assert.Equal(1.0, Utilization().GetSaturation());
        Assert.True(Utilization().IsSaturated());
    }

    [Fact]
    public void Utilization_MixedPool_AverageOfPerEndpointMax()
    {
        var pool = Pool(2);
        pool[0].With(_time, waiting: 1, kv: 0.1);
        pool[1].With(_time, waiting: 15, kv: 0.2);
        Assert.Equal((0.2 + 3.0) / 2, Utilization().GetSaturation(), 6);
        Assert.True(Utilization().IsSaturated());
    }

    [Fact]
    public void Utilization_GoodCapacity_NotSaturated()
    {
        var pool = Pool(2);
        pool[0].With(_time, waiting: 1, kv: 0.1);
        pool[1].With(_time, waiting: 0, kv: 0.2);
        Assert.Equal((0.2 + (0.2 / 0.9)) / 2, Utilization().GetSaturation(), 6);
        Assert.False(Utilization().IsSaturated());
    }

    [Fact]
    public void Utilization_StaleOrNeverScraped_CountsAsSaturated()
    {
        var pool = Pool(3);
        pool[0].With(_time, waiting: 1, kv: 0.1);
        pool[1].With(_time, waiting: 0, kv: 0.2);
        _time.Advance(TimeSpan.FromMilliseconds(101));
        pool[0].With(_time, waiting: 1, kv: 0.1);
        Assert.Equal((0.2 + 1.0 + 1.0) / 3, Utilization().GetSaturation(), 6);
    }

    [Fact]
    public void Utilization_DefaultStaleness_200Milliseconds()
    {
        var pool = Pool(1);
        pool[0].With(_time, waiting: 0, kv: 0.0);
        var detector = Utilization(new UtilizationDetectorParameters());
        _time.Advance(TimeSpan.FromMilliseconds(199));
        Assert.Equal(0.0, detector.GetSaturation());
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1.0, detector.GetSaturation());
    }

    [Fact]
    public void Utilization_Filter_DropsOverHeadroomButFailsOpen()
    {
        var pool = Pool(2);
        pool[0].With(_time, waiting: 7, kv: 0.1);
        pool[1].With(_time, waiting: 1, kv: 0.1);
        var detector = Utilization(new UtilizationDetectorParameters { Headroom = 0.2 });
        var candidates = pool.ToArray();
        Assert.Equal(1, detector.Filter(new SchedulingContext(), new SchedulingRequest(), candidates));
        Assert.Same(pool[1], candidates[0]);
        pool[1].With(_time, waiting: 9, kv: 0.1);
        Assert.Equal(2, detector.Filter(new SchedulingContext(), new SchedulingRequest(), pool.ToArray()));
    }

    [Fact]
    public void Concurrency_InFlightRequests_AveragedAgainstLimit()
    {
        var pool = Pool(2);
        var detector = new ConcurrencyDetector("c", new ConcurrencyDetectorParameters { MaxConcurrency = 10 }, _store);
        Assert.Equal(0.0, detector.GetSaturation());
        for (var i = 0; i < 10; i++)
        {
            pool[0].AddInFlight(100);
        }

        Assert.Equal(0.5, detector.GetSaturation());
        for (var i = 0; i < 10; i++)
        {
            pool[1].AddInFlight(100);
        }

        Assert.True(detector.IsSaturated());
    }

    [Fact]
    public void Concurrency_TokenModeFilter_DropsAtBurstLimit()
    {
        var pool = Pool(2);
        var detector = new ConcurrencyDetector("c", new ConcurrencyDetectorParameters { ConcurrencyMode = "tokens", MaxTokenConcurrency = 100, Headroom = 0.2 }, _store);
        pool[0].AddInFlight(110);
        Assert.Equal(2, detector.Filter(new SchedulingContext(), new SchedulingRequest(), pool.ToArray()));
        pool[0].AddInFlight(10);
        var candidates = pool.ToArray();
        Assert.Equal(1, detector.Filter(new SchedulingContext(), new SchedulingRequest(), candidates));
        Assert.Same(pool[1], candidates[0]);
        Assert.Equal(120.0 / 200, detector.GetSaturation(), 6);
    }

    [Fact]
    public void Concurrency_EmptyPool_Saturated()
    {
        Assert.Equal(1.0, new ConcurrencyDetector("c", new ConcurrencyDetectorParameters(), _store).GetSaturation());
    }
}
