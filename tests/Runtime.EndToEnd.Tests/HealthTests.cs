using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Proto.Grpc.Health.V1;
using ServingStatus = Runtime.Proto.Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Runtime.EndToEnd.Tests;

/// <summary>grpc.health.v1 on the health port, with the service names GIE's EPP registers.</summary>
[Collection(RuntimeServerCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class HealthTests(RuntimeServerFixture server)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    public static TheoryData<string> KnownServices => new() { "", "envoy.service.ext_proc.v3.ExternalProcessor", "liveness", "readiness" };

    [Theory]
    [MemberData(nameof(KnownServices))]
    public async Task Check_KnownService_Serving(string service)
    {
        using var health = server.CreateHealthClient();

        var result = await health.CheckAsync(service, s_timeout);

        Assert.True(result.Status.IsOk, result.Status.ToString());
        Assert.Equal(ServingStatus.Serving, result.Response?.Status);
    }

    /// <summary>GIE v1.5.0 without leader election: any name is SERVING once synced (static endpoints: at start).</summary>
    [Theory]
    [InlineData("inference-extension")]
    [InlineData("no.such.Service")]
    public async Task Check_AnyName_Serving(string service)
    {
        using var health = server.CreateHealthClient();

        var result = await health.CheckAsync(service, s_timeout);

        Assert.True(result.Status.IsOk, result.Status.ToString());
        Assert.Equal(ServingStatus.Serving, result.Response?.Status);
    }

    [Theory]
    [MemberData(nameof(KnownServices))]
    public async Task Watch_KnownService_SendsServingAndStaysOpen(string service)
    {
        using var health = server.CreateHealthClient();
        await using var watch = await health.WatchAsync(service);

        var first = await watch.ReadAsync(s_timeout);

        Assert.Equal(ServingStatus.Serving, first?.Status);
        Assert.False(watch.Call.Completion.IsCompleted, "Watch must stay open to push later changes.");
    }

    [Fact]
    public async Task List_ExtProcServiceOnly()
    {
        using var health = server.CreateHealthClient();

        var result = await health.ListAsync(s_timeout);

        Assert.True(result.Status.IsOk, result.Status.ToString());
        var entry = Assert.Single(result.Response!.Statuses);
        Assert.Equal("envoy.service.ext_proc.v3.ExternalProcessor", entry.Key);
        Assert.Equal(ServingStatus.Serving, entry.Value.Status);
    }

    [Fact]
    public async Task Check_ManyConcurrent_AllServing()
    {
        using var health = server.CreateHealthClient();

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => health.CheckAsync(string.Empty, s_timeout)));

        Assert.All(results, r => Assert.Equal(ServingStatus.Serving, r.Response?.Status));
    }

    [Fact]
    public async Task Process_OnHealthPort_Unimplemented()
    {
        using var invoker = new HttpMessageInvoker(GrpcHttp.CreateHandler());

        var result = await RawGrpcCall.SendAsync(invoker, server.HealthAddress, EnvoyExtProcClient.ProcessPath,
            GrpcFraming.Encode(ExtProcMessages.FullDuplexRequestHeaders(endOfStream: true)));

        Assert.Equal(GrpcStatusCode.Unimplemented, result.GrpcStatus);
    }
}
