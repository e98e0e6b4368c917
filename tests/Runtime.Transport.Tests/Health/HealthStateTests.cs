using Runtime.Transport.Health;
using Xunit;

namespace Runtime.Transport.Tests.Health;

/// <summary>The health rules of GIE v1.5.0 (cmd/epp/runner/health.go, cmd/bbr/runner/health.go) and grpc-go's standard server.</summary>
public class HealthStateTests
{
    private const string ExtProc = HealthState.ExtProcService;

    public static TheoryData<string> AnyNames => new() { "", ExtProc, "liveness", "readiness", "inference-extension", "no.such.Service" };

    [Theory]
    [MemberData(nameof(AnyNames))]
    public void Check_PickerNoLeaderElectionBeforeSync_NotServingForAnyName(string service)
    {
        var state = new HealthState(HealthRules.EndpointPicker);

        Assert.Equal(ServingStatus.NotServing, state.Check(service));
    }

    [Theory]
    [MemberData(nameof(AnyNames))]
    public void Check_PickerNoLeaderElectionSynced_ServingForAnyName(string service)
    {
        var state = new HealthState(HealthRules.EndpointPicker);
        state.SetSynced(true);

        Assert.Equal(ServingStatus.Serving, state.Check(service));
    }

    [Theory]
    [MemberData(nameof(AnyNames))]
    public void Check_PickerShuttingDown_NotServingForAnyName(string service)
    {
        var state = new HealthState(HealthRules.EndpointPicker);
        state.SetSynced(true);
        state.ShutDown();

        Assert.Equal(ServingStatus.NotServing, state.Check(service));
    }

    [Theory]
    [InlineData("liveness", false, true, ServingStatus.Serving)]
    [InlineData("liveness", true, false, ServingStatus.Serving)]
    [InlineData("readiness", false, true, ServingStatus.NotServing)]
    [InlineData("readiness", true, true, ServingStatus.Serving)]
    [InlineData("readiness", true, false, ServingStatus.NotServing)]
    [InlineData("", false, true, ServingStatus.NotServing)]
    [InlineData("", true, true, ServingStatus.Serving)]
    [InlineData("", true, false, ServingStatus.NotServing)]
    [InlineData(ExtProc, false, true, ServingStatus.NotServing)]
    [InlineData(ExtProc, true, true, ServingStatus.Serving)]
    [InlineData(ExtProc, true, false, ServingStatus.NotServing)]
    [InlineData("inference-extension", true, true, ServingStatus.ServiceUnknown)]
    [InlineData("no.such.Service", false, false, ServingStatus.ServiceUnknown)]
    public void Check_PickerWithLeaderElection_PerServiceName(string service, bool synced, bool leader, ServingStatus expected)
    {
        var state = new HealthState(HealthRules.EndpointPicker, leaderElection: true);
        state.SetSynced(synced);
        state.SetLeader(leader);

        Assert.Equal(expected, state.Check(service));
    }

    [Fact]
    public void IsLeader_NoLeaderElectionYet_EveryReplicaLeads()
    {
        Assert.True(new HealthState(HealthRules.EndpointPicker, leaderElection: true).IsLeader);
    }

    [Theory]
    [MemberData(nameof(AnyNames))]
    public void Check_BodyRouter_ServingForAnyNameWithoutSync(string service)
    {
        var state = new HealthState(HealthRules.BodyRouter, leaderElection: true);

        Assert.Equal(ServingStatus.Serving, state.Check(service));
    }

    [Theory]
    [InlineData("", ServingStatus.Serving)]
    [InlineData(ExtProc, ServingStatus.Serving)]
    [InlineData("liveness", null)]
    [InlineData("inference-extension", null)]
    public void Check_ExtProcPort_StandardServerNames(string service, ServingStatus? expected)
    {
        var state = new HealthState(HealthRules.ExtProcPort);

        Assert.Equal(expected, state.Check(service));
    }

    [Fact]
    public void List_PickerNoLeaderElection_ExtProcOnly()
    {
        var state = new HealthState(HealthRules.EndpointPicker);

        Assert.Equal([new(ExtProc, ServingStatus.NotServing)], state.List());
        state.SetSynced(true);
        Assert.Equal([new(ExtProc, ServingStatus.Serving)], state.List());
    }

    [Fact]
    public void List_PickerWithLeaderElection_ExtProcLivenessReadiness()
    {
        var state = new HealthState(HealthRules.EndpointPicker, leaderElection: true);

        Assert.Equal(
            [new(ExtProc, ServingStatus.NotServing), new("liveness", ServingStatus.Serving), new("readiness", ServingStatus.NotServing)],
            state.List());
    }

    [Fact]
    public void List_BodyRouter_ExtProcServing()
    {
        Assert.Equal([new(ExtProc, ServingStatus.Serving)], new HealthState(HealthRules.BodyRouter).List());
    }

    [Fact]
    public void List_ExtProcPort_EmptyNameAndExtProc()
    {
        Assert.Equal([new("", ServingStatus.Serving), new(ExtProc, ServingStatus.Serving)], new HealthState(HealthRules.ExtProcPort).List());
    }

    [Fact]
    public async Task WaitForChangeAsync_Synced_Completes()
    {
        var state = new HealthState(HealthRules.EndpointPicker);
        var wait = state.WaitForChangeAsync(CancellationToken.None);
        Assert.False(wait.IsCompleted);

        state.SetSynced(true);

        await wait.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(ServingStatus.Serving, state.Check("readiness"));
    }
}
