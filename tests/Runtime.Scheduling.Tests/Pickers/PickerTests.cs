using Runtime.Endpoints;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.Pickers;
using Runtime.Scheduling.Tests.Support;

namespace Runtime.Scheduling.Tests.Pickers;

public class PickerTests
{
    private readonly SchedulingContext _context = new();
    private readonly EndpointState[] _endpoints = TestEndpoints.States(4);

    private Dictionary<EndpointState, int> Count(IPicker picker, double[] scores, int runs, int position = 0)
    {
        var counts = _endpoints.ToDictionary(e => e, _ => 0);
        var result = new SchedulingResult();
        for (var i = 0; i < runs; i++)
        {
            result.Reset();
            picker.Pick(_context, _endpoints, (double[])scores.Clone(), result);
            counts[result.Picked[position]]++;
        }

        return counts;
    }

    [Fact]
    public void MaxScorePicker_TiedBest_SpreadsRandomlyAcrossTies()
    {
        var counts = Count(new MaxScorePicker("max"), [3.0, 5.0, 5.0, 5.0], 6000);
        Assert.Equal(0, counts[_endpoints[0]]);
        foreach (var tied in _endpoints[1..])
        {
            Assert.InRange(counts[tied], 1700, 2300);
        }
    }

    [Fact]
    public void MaxScorePicker_Fallbacks_DistinctInScoreOrder()
    {
        var result = new SchedulingResult();
        new MaxScorePicker("max", 3).Pick(_context, _endpoints, [1.0, 4.0, 2.0, 3.0], result);
        Assert.Equal([_endpoints[1], _endpoints[3], _endpoints[2]], result.Picked.ToArray());
    }

    [Fact]
    public void Pickers_MoreEndpointsThanCandidates_ReturnEachOnce()
    {
        foreach (IPicker picker in new IPicker[] { new MaxScorePicker("m", 10), new RandomPicker("r", 10), new WeightedRandomPicker("w", 10) })
        {
            var result = new SchedulingResult();
            picker.Pick(_context, _endpoints, [1.0, 0.0, 2.0, 0.5], result);
            Assert.Equal(4, result.Count);
            Assert.Equal(4, result.Picked.ToArray().Distinct().Count());
        }
    }

    [Fact]
    public void WeightedRandomPicker_Primary_RoughlyProportionalToScore()
    {
        var counts = Count(new WeightedRandomPicker("w"), [1.0, 2.0, 3.0, 4.0], 20000);
        for (var i = 0; i < 4; i++)
        {
            var expected = 20000 * (i + 1) / 10.0;
            Assert.InRange(counts[_endpoints[i]], expected * 0.9, expected * 1.1);
        }
    }

    [Fact]
    public void WeightedRandomPicker_ZeroScore_NeverPrimaryWhileOthersPositive()
    {
        var counts = Count(new WeightedRandomPicker("w"), [0.0, 1.0, 1.0, 1.0], 3000);
        Assert.Equal(0, counts[_endpoints[0]]);
    }

    [Fact]
    public void WeightedRandomPicker_AllZero_Uniform()
    {
        var counts = Count(new WeightedRandomPicker("w"), [0.0, 0.0, 0.0, 0.0], 8000);
        Assert.All(counts.Values, c => Assert.InRange(c, 1700, 2300));
    }

    [Fact]
    public void RandomPicker_Fallbacks_DistinctAndUniform()
    {
        var picker = new RandomPicker("r", 2);
        var counts = Count(picker, [9.0, 0.0, 0.0, 0.0], 8000, position: 1);
        Assert.All(counts.Values, c => Assert.InRange(c, 1700, 2300));
        var result = new SchedulingResult();
        for (var i = 0; i < 100; i++)
        {
            result.Reset();
            picker.Pick(_context, _endpoints, new double[4], result);
            Assert.NotEqual(result.Picked[0], result.Picked[1]);
        }
    }
}
