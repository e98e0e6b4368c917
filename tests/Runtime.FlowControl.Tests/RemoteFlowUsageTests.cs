using Runtime.FlowControl.Policies;
using Runtime.FlowControl.Tests.Support;

namespace Runtime.FlowControl.Tests;

/// <summary>program-aware-fairness with the other replicas' usage (active-active replica state) added to its own.</summary>
public sealed class RemoteFlowUsageTests
{
    [Fact]
    public void OtherReplicasUsage_CountsAgainstTheFlow_WhenChoosing()
    {
        var policy = new ProgramAwareFairnessPolicy(new ProgramAwareFairnessOptions());
        var gate = new FakeSaturationDetector();
        var controller = new FlowController(
            new FlowControlOptions { DefaultPriorityBand = new PriorityBandOptions { FairnessPolicy = policy } },
            new FlowControlDependencies { SaturationDetector = gate });
        var observer = new RecordingObserver(controller.ShardCount);
        RecordingObserver.Attach(controller, observer);

        // Locally "batch" used less than "chat"; across the pool it used far more.
        policy.RecordCompletion("batch", 10, 0);
        policy.RecordCompletion("chat", 100, 0);
        policy.Remote = new FixedUsage(new Dictionary<string, double> { ["batch"] = 50_000 });
        _ = controller.EnqueueAndWaitAsync(new FlowControlRequest("batch", 0, 1), CancellationToken.None).AsTask();
        _ = controller.EnqueueAndWaitAsync(new FlowControlRequest("chat", 0, 2), CancellationToken.None).AsTask();

        gate.Slots = 1;
        controller.NotifyCapacityChanged();

        Assert.Equal([2L], observer.DispatchedIds());
        Assert.Equal(50_010, policy.AttainedService("batch"), 0);
        Assert.Equal(10, policy.LocalService("batch"), 0);
    }

    [Fact]
    public void WithoutRemoteUsage_LocalUsageAloneDecides()
    {
        var policy = new ProgramAwareFairnessPolicy(new ProgramAwareFairnessOptions());
        var gate = new FakeSaturationDetector();
        var controller = new FlowController(
            new FlowControlOptions { DefaultPriorityBand = new PriorityBandOptions { FairnessPolicy = policy } },
            new FlowControlDependencies { SaturationDetector = gate });
        var observer = new RecordingObserver(controller.ShardCount);
        RecordingObserver.Attach(controller, observer);
        policy.RecordCompletion("batch", 10, 0);
        policy.RecordCompletion("chat", 100, 0);
        policy.Remote = new FixedUsage(new Dictionary<string, double> { ["batch"] = 50_000 });
        policy.Remote = null;
        _ = controller.EnqueueAndWaitAsync(new FlowControlRequest("batch", 0, 1), CancellationToken.None).AsTask();
        _ = controller.EnqueueAndWaitAsync(new FlowControlRequest("chat", 0, 2), CancellationToken.None).AsTask();

        gate.Slots = 1;
        controller.NotifyCapacityChanged();

        Assert.Equal([1L], observer.DispatchedIds());
    }

    [Fact]
    public void CopyLocalUsage_KeepsTheLargestFlows_AndLeavesOutNegligibleOnes()
    {
        var policy = new ProgramAwareFairnessPolicy(new ProgramAwareFairnessOptions());
        for (var i = 1; i <= 10; i++)
        {
            policy.RecordCompletion("p" + i, i * 100, 0);
        }

        policy.RecordCompletion("tiny", 0, 0);
        var shared = new List<FlowUsage>();

        policy.CopyLocalUsage(shared, minService: 1, max: 3);

        Assert.Equal(["p10", "p9", "p8"], shared.Select(u => u.FairnessId));
        Assert.Equal(1000, shared[0].Service, 0);

        shared.Clear();
        policy.CopyLocalUsage(shared, minService: 1, max: 100);
        Assert.Equal(10, shared.Count);
        Assert.DoesNotContain(shared, u => u.FairnessId == "tiny");
    }

    private sealed class FixedUsage(Dictionary<string, double> service) : IRemoteFlowUsage
    {
        public double ServiceOf(string fairnessId) => service.GetValueOrDefault(fairnessId);
    }
}
