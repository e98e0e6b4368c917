using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Runtime.ControlPlane.Kubernetes.Access;
using Runtime.ControlPlane.Kubernetes.Api;
using Runtime.ControlPlane.Kubernetes.Leases;
using Runtime.TestSupport.Kubernetes;
using Xunit;

namespace Runtime.ControlPlane.Kubernetes.Tests.Leases;

/// <summary>
/// Leader election against the fake API server's Leases, with timings scaled down from
/// controller-runtime's 15 s / 10 s / 2 s to 1.5 s / 1 s / 0.1 s: one leader at a time, resourceVersion
/// conflicts, an API outage (the leader steps down after the renew deadline), a holder that stops
/// renewing (taken over after the lease duration) and a release on shutdown (taken over at once).
/// </summary>
public sealed class LeaderElectorTests : IAsyncLifetime
{
    private const string Namespace = "ml";
    private const string Name = "epp-ml-sims.gateway-api-inference-extension.sigs.k8s.io";

    private static readonly LeaderElectionOptions s_fast = new()
    {
        LeaseDuration = TimeSpan.FromSeconds(1.5),
        RenewDeadline = TimeSpan.FromSeconds(1),
        RetryPeriod = TimeSpan.FromMilliseconds(100),
    };

    private readonly List<KubernetesApiClient> _clients = [];
    private readonly List<LeaderElector> _electors = [];
    private FakeKubeApiServer _api = null!;

    public async Task InitializeAsync() => _api = await FakeKubeApiServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var elector in _electors)
        {
            await elector.DisposeAsync();
        }

        foreach (var client in _clients)
        {
            client.Dispose();
        }

        await _api.DisposeAsync();
    }

    [Fact]
    public async Task TwoCandidates_ExactlyOneLeads_AndHoldsTheLease()
    {
        var a = Elector("a");
        var b = Elector("b");
        a.Start();
        b.Start();

        await WaitUntilAsync(() => a.IsLeader || b.IsLeader, TimeSpan.FromSeconds(5));
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(2))
        {
            Assert.False(a.IsLeader && b.IsLeader, "both replicas lead");
            await Task.Delay(10);
        }

        var leader = a.IsLeader ? a : b;
        Assert.True(leader.IsLeader);
        Assert.Equal(leader.Identity, _api.LeaseHolder(Namespace, Name));
        var lease = _api.GetLease(Namespace, Name)!;
        Assert.Equal(2, lease["spec"]!["leaseDurationSeconds"]!.GetValue<int>()); // 1.5 s, in whole seconds, rounded up
        Assert.True(_api.LeaseWrites > 5, $"the leader renews every retry period ({_api.LeaseWrites} writes)");
    }

    [Fact]
    public async Task UpdateNamingAStaleResourceVersion_Conflicts()
    {
        var lease = Client();
        var created = await lease.CreateAsync(new LeaseRecord("a", 15, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, 0), CancellationToken.None);
        await lease.UpdateAsync(created with { HolderIdentity = "b" }, CancellationToken.None);

        var conflict = await Assert.ThrowsAsync<KubernetesApiException>(() => lease.UpdateAsync(created with { HolderIdentity = "c" }, CancellationToken.None));
        var exists = await Assert.ThrowsAsync<KubernetesApiException>(() => lease.CreateAsync(created, CancellationToken.None));

        Assert.Equal(409, conflict.StatusCode);
        Assert.Equal(409, exists.StatusCode);
        Assert.Equal("b", (await lease.GetAsync(CancellationToken.None))!.HolderIdentity);
        Assert.Equal(2, _api.LeaseConflicts);
    }

    [Fact]
    public async Task CandidateLosingTheWriteRace_DoesNotLead()
    {
        // A released Lease (no holder), and another writer changes it between its read and its write: that update names a stale version.
        _api.PutLease(Namespace, Name, string.Empty, 1, DateTimeOffset.UtcNow);
        var a = Elector("a");
        var racer = Client();
        var stale = (await racer.GetAsync(CancellationToken.None))!;
        Assert.True(await a.TryAcquireOrRenewAsync(CancellationToken.None));

        await Assert.ThrowsAsync<KubernetesApiException>(() => racer.UpdateAsync(stale with { HolderIdentity = "racer" }, CancellationToken.None));

        Assert.Equal(a.Identity, _api.LeaseHolder(Namespace, Name));
    }

    [Fact]
    public async Task ApiOutage_LeaderStepsDownAfterTheRenewDeadline_AndLeadsAgainWhenItReturns()
    {
        var a = Elector("a");
        a.Start();
        await WaitUntilAsync(() => a.IsLeader, TimeSpan.FromSeconds(5));

        _api.LeasesUnavailable = true;
        var outage = Stopwatch.StartNew();
        await WaitUntilAsync(() => !a.IsLeader, TimeSpan.FromSeconds(5));
        var steppedDown = outage.Elapsed;

        Assert.InRange(steppedDown, s_fast.RenewDeadline - TimeSpan.FromMilliseconds(150), s_fast.RenewDeadline + TimeSpan.FromSeconds(1));
        _api.LeasesUnavailable = false;
        await WaitUntilAsync(() => a.IsLeader, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task HolderStopsRenewing_StandbyTakesOverAfterTheLeaseDuration_NotBefore()
    {
        // A leader that was killed: its Lease says it holds it, freshly renewed, and nobody renews it again.
        _api.PutLease(Namespace, Name, "killed-replica", 1, DateTimeOffset.UtcNow);
        var b = Elector("b");
        var since = Stopwatch.StartNew();
        b.Start();

        await WaitUntilAsync(() => b.IsLeader, TimeSpan.FromSeconds(5));

        // Not before the lease duration (by its own clock, from its first look); soon after it (slack for a loaded machine).
        Assert.InRange(since.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1) + TimeSpan.FromSeconds(2.5));
        var lease = _api.GetLease(Namespace, Name)!;
        Assert.Equal(b.Identity, lease["spec"]!["holderIdentity"]!.GetValue<string>());
        Assert.Equal(1, lease["spec"]!["leaseTransitions"]!.GetValue<int>());
    }

    [Fact]
    public async Task HolderKeepsRenewing_StandbyNeverLeads()
    {
        var b = Elector("b");
        b.Start();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(3))
        {
            _api.PutLease(Namespace, Name, "live-leader", 1, DateTimeOffset.UtcNow);
            Assert.False(b.IsLeader);
            await Task.Delay(200);
        }

        Assert.Equal("live-leader", _api.LeaseHolder(Namespace, Name));
    }

    [Fact]
    public async Task LeaderDisposed_ReleasesTheLease_StandbyTakesOverAtOnce()
    {
        var a = Elector("a");
        a.Start();
        await WaitUntilAsync(() => a.IsLeader, TimeSpan.FromSeconds(5));
        var b = Elector("b");
        b.Start();
        await Task.Delay(300);
        Assert.False(b.IsLeader);

        _electors.Remove(a);
        await a.DisposeAsync();
        var released = Stopwatch.StartNew();
        Assert.False(a.IsLeader);
        await WaitUntilAsync(() => b.IsLeader, TimeSpan.FromSeconds(5));

        // The release says "no holder, 1 s": far sooner than the 1.5 s lease duration.
        Assert.True(released.Elapsed < TimeSpan.FromSeconds(1.2), $"took over after {released.Elapsed}");
        Assert.Equal(b.Identity, _api.LeaseHolder(Namespace, Name));
    }

    [Fact]
    public async Task RoleWithoutLeases_NeverLeads()
    {
        _api.AllowedResources = new HashSet<string> { "pods" };
        var a = Elector("a");
        a.Start();

        await Task.Delay(500);

        Assert.False(a.IsLeader);
        Assert.Null(_api.GetLease(Namespace, Name));
    }

    private LeaseClient Client()
    {
        var client = new KubernetesApiClient(new KubernetesAccess(_api.Url), TimeProvider.System);
        _clients.Add(client);
        return new LeaseClient(client, Namespace, Name);
    }

    private LeaderElector Elector(string identity)
    {
        var elector = new LeaderElector(Client(), s_fast with { Identity = identity }, NullLogger.Instance);
        _electors.Add(elector);
        return elector;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < timeout, $"not within {timeout}");
            await Task.Delay(10);
        }
    }
}
