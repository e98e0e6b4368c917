using Runtime.Proto.Grpc.Health.V1;

namespace Runtime.EndToEnd.Tests.Fixtures;

/// <summary>Checks shared by tests that try to hurt the server: it must still be up and correct afterwards.</summary>
internal static class ServerChecks
{
    /// <summary>The process is alive, health says SERVING and a small full-duplex exchange is echoed intact.</summary>
    public static async Task AssertStillServesAsync(RuntimeServerFixture server)
    {
        server.EnsureRunning();

        using var health = server.CreateHealthClient();
        var check = await health.CheckAsync(string.Empty);
        Assert.True(check.Status.IsOk, $"Health check after the test: {check.Status}");
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, check.Response?.Status);

        using var client = server.CreateExtProcClient();
        var body = ChatCompletionBodies.Create(1024);
        var result = await client.RunFullDuplexAsync(new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(),
            BodyChunks = BodyChunks.SplitInto(body, 2),
        });
        result.EnsureValid();
        Assert.Equal(body, result.Request.StreamedBody);
    }
}
