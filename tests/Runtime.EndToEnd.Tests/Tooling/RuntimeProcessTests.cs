using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Runtime.EndToEnd.Tests.Tooling;

[Trait("Category", "Tooling")]
public sealed class RuntimeProcessTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task WaitForPortAsync_ProcessListens_ReturnsAndStopsGracefullyOnSigterm()
    {
        var port = TestPorts.GetFreeTcpPort();
        await using var process = RuntimeProcess.Start("python3",
            ["-m", "http.server", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1"]);

        var elapsed = await process.WaitForPortAsync(port, s_timeout);
        var exitCode = await process.StopAsync();

        Assert.True(elapsed > TimeSpan.Zero);
        Assert.True(process.StoppedGracefully);
        Assert.Equal(128 + 15, exitCode);
    }

    [Fact]
    public async Task WaitForPortAsync_ProcessExitsEarly_ThrowsWithExitCodeAndOutput()
    {
        await using var process = RuntimeProcess.Start("sh", ["-c", "echo starting; echo 'bind failed' >&2; exit 3"]);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => process.WaitForPortAsync(TestPorts.GetFreeTcpPort(), s_timeout));

        Assert.Contains("exited with code 3", error.Message, StringComparison.Ordinal);
        Assert.Contains("! bind failed", error.Message, StringComparison.Ordinal);
        Assert.Contains("starting", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WaitForPortAsync_NeverListens_ThrowsTimeout()
    {
        await using var process = RuntimeProcess.Start("sleep", ["30"]);

        await Assert.ThrowsAsync<TimeoutException>(
            () => process.WaitForPortAsync(TestPorts.GetFreeTcpPort(), TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task StopAsync_ProcessIgnoresSigterm_KillsAfterShutdownTimeout()
    {
        await using var process = RuntimeProcess.Start("sh", ["-c", "trap '' TERM; echo ready; while :; do sleep 1; done"],
            new RuntimeProcessOptions { ShutdownTimeout = TimeSpan.FromMilliseconds(300) });
        await process.WaitForOutputAsync("ready", s_timeout);

        await process.StopAsync();

        Assert.True(process.HasExited);
        Assert.False(process.StoppedGracefully);
    }

    [Fact]
    public async Task WaitForExitAsync_ShortProcess_CapturesBothStreamsAndEnvironment()
    {
        await using var process = RuntimeProcess.Start("sh", ["-c", "echo out $GREETING; echo err >&2"],
            new RuntimeProcessOptions { Environment = new Dictionary<string, string?> { ["GREETING"] = "hello" } });

        var exitCode = await process.WaitForExitAsync(s_timeout);

        Assert.Equal(0, exitCode);
        Assert.Equal("out hello", process.StandardOutput.Trim());
        Assert.Equal("err", process.StandardError.Trim());
    }

    [Fact]
    public void GetFreeTcpPort_CalledTwice_DistinctBindablePorts()
    {
        var first = TestPorts.GetFreeTcpPort();
        var second = TestPorts.GetFreeTcpPort();

        Assert.NotEqual(first, second);
        using var listener = new TcpListener(IPAddress.Loopback, first);
        listener.Start();
        listener.Stop();
    }
}
