using System.Text;
using Runtime.EndpointPicker.Admission;
using Runtime.Endpoints;
using Runtime.FlowControl;
using Runtime.Plugins.BuiltIn.Parameters;

namespace Runtime.EndpointPicker.Tests.Admission;

public class ProbabilisticAdmitterTests
{
    private static (ProbabilisticAdmitter Admitter, EndpointStore Store) Admitter(int waiting, double kv, ProbabilisticAdmitterParameters? parameters = null, bool metrics = true)
    {
        var store = new EndpointStore();
        store.Publish([new Endpoint("a", "10.0.0.1", 8000), new Endpoint("b", "10.0.0.2", 8000)]);
        if (metrics)
        {
            foreach (var endpoint in store.Current.Endpoints)
            {
                endpoint.PublishMetrics(new EndpointMetrics { WaitingQueueSize = waiting, KvCacheUsage = kv, UpdatedAtTimestamp = 1 });
            }
        }

        var admitter = new ProbabilisticAdmitter("p", parameters ?? new ProbabilisticAdmitterParameters()).Attach(store);
        admitter.Random = new Random(42).NextDouble;
        return (admitter, store);
    }

    private static double RejectedFraction(ProbabilisticAdmitter admitter, int priority, int n = 10_000) =>
        Enumerable.Range(0, n).Count(_ => admitter.Admit(priority) is not null) / (double)n;

    [Fact]
    public void Sheddable_UnderModerateLoad_RejectsTheDocumentedFraction()
    {
        // Saturation 0.15 (queue 0.75 of 5 -> use KV: 0.12 / 0.8 = 0.15): llm-d's README says ~2.3 %.
        var (admitter, _) = Admitter(waiting: 0, kv: 0.12);

        Assert.Equal(0.15, admitter.Saturation(admitter.AttachedEndpoints()), 6);
        Assert.Equal(0.0228, admitter.RejectProbability(0.15), 3);
        Assert.InRange(RejectedFraction(admitter, -1), 0.015, 0.031);
    }

    [Fact]
    public void Sheddable_PastTheKnee_AllRejectedWith429()
    {
        // Queue 2 of 5 = 0.4 > (1/300)^(1/5) = 0.32: every sheddable request is shed.
        var (admitter, _) = Admitter(waiting: 2, kv: 0);

        Assert.Equal(1.0, RejectedFraction(admitter, -1));
        var refusal = admitter.Admit(-1)!;
        Assert.Equal(429, refusal.HttpStatus);
        Assert.Equal("probabilistic-admitter: rejected, saturation=0.400 prob=1.00", refusal.Message); // llm-d's text
    }

    [Fact]
    public void Refusals_UnderTheSameSaturation_ShareOneReply_NewFiguresGetTheirOwn()
    {
        var (admitter, store) = Admitter(waiting: 2, kv: 0);
        var first = admitter.Admit(-1)!;

        Assert.Same(first, admitter.Admit(-1));
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            admitter.Admit(-1);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        var (busier, _) = Admitter(waiting: 4, kv: 0);
        Assert.Equal("probabilistic-admitter: rejected, saturation=0.800 prob=1.00", busier.Admit(-1)!.Message);
        GC.KeepAlive(store);
    }

    [Fact]
    public void NonSheddable_AlwaysAdmitted_EvenWhenSaturated()
    {
        var (admitter, _) = Admitter(waiting: 50, kv: 1);

        Assert.Equal(0.0, RejectedFraction(admitter, 0));
        Assert.Equal(0.0, RejectedFraction(admitter, 5));
    }

    [Fact]
    public void IdlePool_AdmitsEverything_MissingMetricsCountAsSaturated()
    {
        Assert.Equal(0.0, RejectedFraction(Admitter(waiting: 0, kv: 0).Admitter, -1));
        Assert.Equal(1.0, RejectedFraction(Admitter(0, 0, metrics: false).Admitter, -1));
    }

    [Fact]
    public void Parameters_ShiftTheCurve()
    {
        // k = 1, power = 1: probability = saturation (0.5 here).
        var (admitter, _) = Admitter(waiting: 0, kv: 0.4, new ProbabilisticAdmitterParameters(Power: 1, K: 1));

        Assert.InRange(RejectedFraction(admitter, -1), 0.47, 0.53);
    }
}

public class LlmDFlowControlErrorTests
{
    private static string Header(Runtime.ExtProc.Processing.ImmediateError error) =>
        $"{Encoding.ASCII.GetString(error.HeaderName)}: {Encoding.ASCII.GetString(error.HeaderValue)}";

    [Fact]
    public void TtlExpiry_429WhileEndpointsExist_503WhenNone()
    {
        var contended = LlmDErrors.Translate(FlowControlOutcome.EvictedTtl, () => true)!;
        var empty = LlmDErrors.Translate(FlowControlOutcome.EvictedTtl, () => false)!;

        Assert.Equal(429, contended.HttpStatus);
        Assert.Equal("x-llm-d-request-dropped-reason: rejected-ttl-expired", Header(contended));
        Assert.Equal(503, empty.HttpStatus);
        Assert.Equal("x-llm-d-request-dropped-reason: rejected-no-endpoints", Header(empty));
    }

    [Theory]
    [InlineData(FlowControlOutcome.RejectedCapacity, 429, "rejected-saturated")]
    [InlineData(FlowControlOutcome.EvictedCancelled, 503, "rejected-context-cancelled")]
    [InlineData(FlowControlOutcome.RejectedShutdown, 503, "rejected-shutting-down")]
    public void Outcomes_CarryLlmDsReason(FlowControlOutcome outcome, int status, string reason)
    {
        var error = LlmDErrors.Translate(outcome, () => true)!;

        Assert.Equal(status, error.HttpStatus);
        Assert.Equal($"x-llm-d-request-dropped-reason: {reason}", Header(error));
    }

    [Fact]
    public void Dispatched_IsNoError() => Assert.Null(LlmDErrors.Translate(FlowControlOutcome.Dispatched, () => false));
}
