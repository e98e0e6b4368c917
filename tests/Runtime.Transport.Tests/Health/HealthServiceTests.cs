using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Runtime.TestSupport.Grpc;
using Runtime.TestSupport.Hosting;
using Runtime.Transport.Grpc;
using Runtime.Transport.Health;
using Runtime.Transport.Hosting;
using Xunit;
using Oracle = Runtime.Proto.Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Runtime.Transport.Tests.Health;

/// <summary>grpc.health.v1 Check, Watch and List through Grpc.AspNetCore on real Kestrel listeners, one per rule set.</summary>
public sealed class HealthServiceTests : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    private readonly HealthState _picker = new(HealthRules.EndpointPicker);
    private readonly HealthState _pickerLeaderElection = new(HealthRules.EndpointPicker, leaderElection: true);
    private readonly HealthState _router = new(HealthRules.BodyRouter);
    private readonly HealthState _extProcPort = new(HealthRules.ExtProcPort);
    private readonly Dictionary<HealthState, Uri> _addresses = [];
    private Uri _noHealth = null!;
    private WebApplication _app = null!;

    public async Task InitializeAsync()
    {
        var listeners = new List<GrpcListener>();
        foreach (var state in (HealthState[])[_picker, _pickerLeaderElection, _router, _extProcPort])
        {
            var port = TestPorts.GetFreeTcpPort();
            listeners.Add(new GrpcListener(IPAddress.Loopback, port, new ListenerServices(state)));
            _addresses[state] = new Uri($"http://127.0.0.1:{port}");
        }

        var bare = TestPorts.GetFreeTcpPort();
        listeners.Add(new GrpcListener(IPAddress.Loopback, bare, ListenerServices.Empty));
        _noHealth = new Uri($"http://127.0.0.1:{bare}");

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        builder.Services.AddRuntimeGrpc(new GrpcServerOptions());
        builder.Services.AddSingleton<HealthService>();
        builder.WebHost.ConfigureKestrel(k => KestrelGrpcSetup.Configure(k, new GrpcServerOptions(), listeners));
        _app = builder.Build();
        _app.RunGrpcServices(grpc => grpc.MapGrpcService<HealthService>());
        await _app.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [Theory]
    [InlineData("")]
    [InlineData("liveness")]
    [InlineData("inference-extension")]
    public async Task Check_PickerBeforeAndAfterSync_NotServingThenServing(string service)
    {
        using var health = new GrpcHealthClient(_addresses[_picker]);

        var before = await health.CheckAsync(service, s_timeout);
        _picker.SetSynced(true);
        var after = await health.CheckAsync(service, s_timeout);

        Assert.True(before.Status.IsOk, before.Status.ToString());
        Assert.Equal(Oracle.NotServing, before.Response?.Status);
        Assert.Equal(Oracle.Serving, after.Response?.Status);
    }

    [Theory]
    [InlineData("liveness", Oracle.Serving)]
    [InlineData("readiness", Oracle.NotServing)]
    [InlineData("", Oracle.NotServing)]
    [InlineData("envoy.service.ext_proc.v3.ExternalProcessor", Oracle.NotServing)]
    [InlineData("inference-extension", Oracle.ServiceUnknown)]
    public async Task Check_PickerLeaderElectionBeforeSync_PerName(string service, Oracle expected)
    {
        using var health = new GrpcHealthClient(_addresses[_pickerLeaderElection]);

        var result = await health.CheckAsync(service, s_timeout);

        Assert.True(result.Status.IsOk, result.Status.ToString());
        Assert.Equal(expected, result.Response?.Status);
    }

    [Fact]
    public async Task Check_BodyRouter_AnyNameServing()
    {
        using var health = new GrpcHealthClient(_addresses[_router]);

        var result = await health.CheckAsync("anything", s_timeout);

        Assert.Equal(Oracle.Serving, result.Response?.Status);
    }

    [Fact]
    public async Task Check_ExtProcPortUnknownName_NotFound()
    {
        using var health = new GrpcHealthClient(_addresses[_extProcPort]);

        var known = await health.CheckAsync("envoy.service.ext_proc.v3.ExternalProcessor", s_timeout);
        var unknown = await health.CheckAsync("liveness", s_timeout);

        Assert.Equal(Oracle.Serving, known.Response?.Status);
        Assert.Equal(GrpcStatusCode.NotFound, unknown.Status.Code);
    }

    [Fact]
    public async Task Check_ListenerWithoutHealth_Unimplemented()
    {
        using var health = new GrpcHealthClient(_noHealth);

        var result = await health.CheckAsync("", s_timeout);

        Assert.Equal(GrpcStatusCode.Unimplemented, result.Status.Code);
    }

    [Fact]
    public async Task Watch_Picker_StreamsSyncThenShutdownAndEnds()
    {
        using var health = new GrpcHealthClient(_addresses[_picker]);
        await using var watch = await health.WatchAsync("inference-extension");

        var first = await watch.ReadAsync(s_timeout);
        _picker.SetSynced(true);
        var second = await watch.ReadAsync(s_timeout);
        _picker.ShutDown();
        var third = await watch.ReadAsync(s_timeout);
        var end = await watch.ReadAsync(s_timeout);

        Assert.Equal(Oracle.NotServing, first?.Status);
        Assert.Equal(Oracle.Serving, second?.Status);
        Assert.Equal(Oracle.NotServing, third?.Status);
        Assert.Null(end);
        Assert.True((await watch.Call.GetStatusAsync(s_timeout)).IsOk);
    }

    [Fact]
    public async Task Watch_ExtProcPortUnknownName_ServiceUnknownAndStaysOpen()
    {
        using var health = new GrpcHealthClient(_addresses[_extProcPort]);
        await using var watch = await health.WatchAsync("no.such.Service");

        var first = await watch.ReadAsync(s_timeout);

        Assert.Equal(Oracle.ServiceUnknown, first?.Status);
        Assert.False(watch.Call.Completion.IsCompleted);
    }

    [Fact]
    public async Task List_PickerLeaderElection_ThreeNames()
    {
        _pickerLeaderElection.SetSynced(true);
        using var health = new GrpcHealthClient(_addresses[_pickerLeaderElection]);

        var result = await health.ListAsync(s_timeout);

        Assert.True(result.Status.IsOk, result.Status.ToString());
        var statuses = result.Response!.Statuses.ToDictionary(p => p.Key, p => p.Value.Status);
        Assert.Equal(
            new Dictionary<string, Oracle> { ["envoy.service.ext_proc.v3.ExternalProcessor"] = Oracle.Serving, ["liveness"] = Oracle.Serving, ["readiness"] = Oracle.Serving },
            statuses);
    }

    [Fact]
    public async Task List_BodyRouter_ExtProcOnly()
    {
        using var health = new GrpcHealthClient(_addresses[_router]);

        var result = await health.ListAsync(s_timeout);

        var entry = Assert.Single(result.Response!.Statuses);
        Assert.Equal("envoy.service.ext_proc.v3.ExternalProcessor", entry.Key);
        Assert.Equal(Oracle.Serving, entry.Value.Status);
    }
}
