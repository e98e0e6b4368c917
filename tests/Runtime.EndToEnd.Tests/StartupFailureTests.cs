using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Runtime.EndToEnd.Tests.Fixtures;
using ServingStatus = Runtime.Proto.Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// Start-up problems through the real binary: each is one clear line on stderr and a non-zero
/// exit, never an unhandled exception with a stack trace; an API server that is merely
/// unreachable is not one (the picker keeps trying and stays NOT_SERVING).
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class StartupFailureTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);
    private readonly string _dir = Directory.CreateTempSubdirectory("runtime-startup-").FullName;

    private static string Binary => Environment.GetEnvironmentVariable(BinaryRuntimeServer.BinaryVariable)
        ?? throw new InvalidOperationException($"{BinaryRuntimeServer.BinaryVariable} is not set; publish the binary first.");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("serve", "grpc-port")]
    [InlineData("serve", "grpc-health-port")]
    [InlineData("serve", "metrics-port")]
    [InlineData("bbr", "grpc-port")]
    [InlineData("bbr", "grpc-health-port")]
    [InlineData("bbr", "metrics-port")]
    public async Task PortInUse_OneLineAndExitOne(string command, string busyFlag)
    {
        using var busy = new TcpListener(IPAddress.Any, 0);
        busy.Start();
        var busyPort = ((IPEndPoint)busy.LocalEndpoint).Port;
        var ports = new Dictionary<string, int>
        {
            ["grpc-port"] = TestPorts.GetFreeTcpPort(),
            ["grpc-health-port"] = TestPorts.GetFreeTcpPort(),
            ["metrics-port"] = TestPorts.GetFreeTcpPort(),
        };
        ports[busyFlag] = busyPort;
        List<string> arguments = [command, .. ports.Select(p => $"--{p.Key}={Invariant(p.Value)}"), "--secure-serving=false"];
        if (command == "serve")
        {
            arguments.Add("--endpoints=127.0.0.1:9");
        }

        await using var process = RuntimeProcess.Start(Binary, arguments, NoCluster);

        Assert.True(await process.WaitForExitAsync(s_timeout) == 1, process.Output);
        var line = AssertOneCleanLine(process);
        Assert.Contains($":{Invariant(busyPort)}", line, StringComparison.Ordinal);
        Assert.Contains("address already in use", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CertPathWithoutCertificate_OneLineAndExitOne()
    {
        await using var process = RuntimeProcess.Start(Binary, ["serve", "--grpc-port=0", "--endpoints=127.0.0.1:9", "--cert-path", Path.Combine(_dir, "missing")], NoCluster);

        Assert.True(await process.WaitForExitAsync(s_timeout) == 1, process.Output);
        Assert.StartsWith("error: ", AssertOneCleanLine(process), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreadableCertificate_OneLineAndExitOne()
    {
        File.WriteAllText(Path.Combine(_dir, "tls.crt"), "not a certificate\n");
        File.WriteAllText(Path.Combine(_dir, "tls.key"), "not a key\n");
        await using var process = RuntimeProcess.Start(Binary, ["bbr", .. BbrPorts(), "--cert-path", _dir], NoCluster);

        Assert.True(await process.WaitForExitAsync(s_timeout) == 1, process.Output);
        Assert.Contains("not a PEM certificate with its PEM private key", AssertOneCleanLine(process), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("serve", "--grpc-port=ninety")]
    [InlineData("serve", "--secure-serving=maybe")]
    [InlineData("bbr", "--grpc-port=-")]
    [InlineData("serve", "--no-such-flag")]
    [InlineData("validate", "--config-file")]
    public async Task BadFlagValue_OneLineNamingTheFlag_ExitTwo(string command, string flag)
    {
        await using var process = RuntimeProcess.Start(Binary, [command, flag], NoCluster);

        // Exit 2 as Go's flag package; one line that names the flag and where the flags are listed.
        Assert.True(await process.WaitForExitAsync(s_timeout) == 2, process.Output);
        var line = AssertOneCleanLine(process);
        Assert.Contains(flag.Split('=')[0].TrimStart('-'), line, StringComparison.Ordinal);
        Assert.EndsWith($"(run 'runtime {command} --help' for the flags)", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("serve")]
    [InlineData("bbr")]
    public async Task UnusableKubeconfig_OneLineAndExitOne(string command)
    {
        var kubeconfig = Path.Combine(_dir, "kubeconfig");
        File.WriteAllText(kubeconfig, "clusters: [this is: not, a kubeconfig\n");
        List<string> arguments = command == "serve" ? [command, "--grpc-port=0", "--kubeconfig", kubeconfig] : [command, .. BbrPorts(), "--kubeconfig", kubeconfig];
        if (command == "serve")
        {
            arguments.AddRange(["--pool-name", "pool"]);
        }
        else
        {
            arguments.Add("--metrics-endpoint-auth=true");
        }

        await using var process = RuntimeProcess.Start(Binary, arguments, NoCluster);

        // serve lists every problem it found, then says it refuses to start; the first line is the reason.
        Assert.True(await process.WaitForExitAsync(s_timeout) == 1, process.Output);
        AssertNoStackTrace(process);
        Assert.Contains("kubeconfig is not valid YAML", process.StandardError.Split('\n')[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingConfigFile_ExitOneWithTheFileNamed()
    {
        var missing = Path.Combine(_dir, "epp.yaml");
        await using var process = RuntimeProcess.Start(Binary, ["serve", "--grpc-port=0", "--endpoints=127.0.0.1:9", "--config-file", missing], NoCluster);

        Assert.True(await process.WaitForExitAsync(s_timeout) == 1, process.Output);
        Assert.Contains($"{missing}: cannot read the configuration file: no such file", process.StandardError, StringComparison.Ordinal);
        AssertNoStackTrace(process);
    }

    [Fact]
    public async Task InvalidConfig_EveryErrorThenRefusal_NoStackTrace()
    {
        await using var process = RuntimeProcess.Start(Binary, ["serve", "--grpc-port=0", "--endpoints=127.0.0.1:9", "--config-text", "plugins: [\n"], NoCluster);

        Assert.True(await process.WaitForExitAsync(s_timeout) == 1, process.Output);
        Assert.Contains("refusing to start: the configuration is invalid", process.StandardError, StringComparison.Ordinal);
        AssertNoStackTrace(process);
    }

    [Fact]
    public async Task MissingEndpointsFile_ExitOneWithThePathNamed()
    {
        var missing = Path.Combine(_dir, "nowhere");
        await using var process = RuntimeProcess.Start(Binary, ["serve", "--grpc-port=0", "--endpoints-file", missing], NoCluster);

        var exit = await process.WaitForExitAsync(s_timeout);
        Assert.True(exit == 1, process.Output);
        Assert.Contains(missing, process.StandardError, StringComparison.Ordinal);
        AssertNoStackTrace(process);
    }

    [Fact]
    public async Task UnreachableApiServer_IsNotAStartUpFailure_KeepsTryingNotServing()
    {
        var closed = TestPorts.GetFreeTcpPort();
        var kubeconfig = Path.Combine(_dir, "kubeconfig");
        File.WriteAllText(kubeconfig, $$$"""
            apiVersion: v1
            kind: Config
            clusters: [{name: c, cluster: {server: "http://127.0.0.1:{{{Invariant(closed)}}}"}}]
            users: [{name: u, user: {token: t}}]
            contexts: [{name: x, context: {cluster: c, user: u, namespace: ml}}]
            current-context: x
            """);
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--pool-name", "pool", "--kubeconfig", kubeconfig]);
        using var health = new GrpcHealthClient(server.HealthAddress);

        await Task.Delay(2000); // several back-off retries
        server.EnsureRunning();
        Assert.Equal(ServingStatus.NotServing, (await health.CheckAsync(string.Empty, s_timeout)).Response?.Status);
        AssertNoStackTrace(server.Process);
    }

    /// <summary>runtime bbr takes no port 0 (as the Go router): three free ports.</summary>
    private static string[] BbrPorts() =>
        [$"--grpc-port={Invariant(TestPorts.GetFreeTcpPort())}", $"--grpc-health-port={Invariant(TestPorts.GetFreeTcpPort())}", $"--metrics-port={Invariant(TestPorts.GetFreeTcpPort())}"];

    private static RuntimeProcessOptions NoCluster => new()
    {
        Environment = new Dictionary<string, string?> { ["KUBERNETES_SERVICE_HOST"] = null, ["KUBECONFIG"] = null },
    };

    /// <summary>The whole of stderr is one line, and nothing anywhere looks like an unhandled exception.</summary>
    private static string AssertOneCleanLine(RuntimeProcess process)
    {
        AssertNoStackTrace(process);
        var lines = process.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr:\n{process.Output}");
        return lines[0];
    }

    private static void AssertNoStackTrace(RuntimeProcess process)
    {
        Assert.DoesNotContain("Unhandled exception", process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("\n   at ", process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception:", process.Output, StringComparison.Ordinal);
    }
}
