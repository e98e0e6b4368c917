using Runtime.Scheduling.Framework;
using Runtime.Scheduling.Scorers;
using Runtime.Scheduling.Tests.Support;

namespace Runtime.Scheduling.Tests.Scorers;

public class TokenLoadScorerTests
{
    [Fact]
    public void Score_InFlightTokens_OneMinusShareOfThreshold()
    {
        var endpoints = TestEndpoints.States(3);
        endpoints[1].AddInFlight(250);
        endpoints[2].AddInFlight(5000);
        var scores = new double[3];

        new TokenLoadScorer("t", 1000).Score(new SchedulingContext(), TestEndpoints.Request("p"), endpoints, scores);

        Assert.Equal([1.0, 0.75, 0.0], scores);
    }
}
