using Runtime.EndToEnd.Tests.Fixtures;

namespace Runtime.EndToEnd.Tests;

/// <summary>Start and stop of the binary itself; each test runs its own server process.</summary>
[Trait("Category", "EndToEnd")]
public sealed class LifecycleTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Serve_Sigterm_ExitsZeroWithinShutdownTimeout()
    {
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync();

        var exitCode = await server.Process.StopAsync();

        Assert.True(server.Process.StoppedGracefully, $"SIGTERM did not stop the server.{Environment.NewLine}{server.Diagnostics}");
        Assert.True(exitCode == 0, $"Exit code {exitCode}.{Environment.NewLine}{server.Diagnostics}");
    }

    /// <summary>SPEC §7: graceful shutdown drains streams. An exchange open at SIGTERM still completes.</summary>
    [Fact]
    public async Task Serve_SigtermWithOpenExchange_DrainsExchangeThenExits()
    {
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync();
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await using var exchange = await client.StartAsync();
        await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
        await exchange.SendAsync(ExtProcMessages.RequestBody("{\"model\":"u8, endOfStream: false));
        await exchange.ReadRequiredAsync(s_timeout);

        server.Process.SendSigterm();
        await exchange.SendAsync(ExtProcMessages.RequestBody("\"m\"}"u8, endOfStream: true));
        await exchange.CompleteAsync();
        var rest = await exchange.ReadToEndAsync(s_timeout);
        var status = await exchange.GetStatusAsync(s_timeout);
        var exitCode = await server.Process.WaitForExitAsync(s_timeout);

        Assert.True(status.IsOk, status.ToString());
        Assert.Contains(rest, r => r.RequestBody?.Response?.BodyMutation?.StreamedResponse?.EndOfStream == true);
        Assert.Equal(0, exitCode);
    }

    [Fact]
    public async Task Serve_Start_ListensOnBothGrpcPortsWithinFiveSeconds()
    {
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync();

        Assert.True(server.TimeToListening < TimeSpan.FromSeconds(5), $"Took {server.TimeToListening.TotalMilliseconds:0} ms.");
    }
}
