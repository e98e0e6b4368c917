using System.Text.Json;
using Runtime.EndToEnd.Tests.Fixtures;

namespace Runtime.EndToEnd.Tests;

/// <summary>The binary's configuration surface as operators use it: validate, plugins, and serve with a config.</summary>
[Trait("Category", "EndToEnd")]
public sealed class ConfigurationTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    private static string Sample(string name) => RepositoryPaths.Combine("tests", "Runtime.Configuration.Tests", "Samples", name);

    private static async Task<(int ExitCode, RuntimeProcess Process)> RunAsync(params string[] arguments)
    {
        var binary = Environment.GetEnvironmentVariable(BinaryRuntimeServer.BinaryVariable)
            ?? throw new InvalidOperationException($"{BinaryRuntimeServer.BinaryVariable} is not set; publish the binary first.");
        var process = RuntimeProcess.Start(binary, arguments);
        return (await process.WaitForExitAsync(s_timeout), process);
    }

    [Theory]
    [InlineData("default.yaml")]
    [InlineData("llm-d.yaml")]
    [InlineData("flow-control.yaml")]
    [InlineData("feature-gates-list.yaml")]
    [InlineData("feature-gates-map.yaml")]
    public async Task Validate_DocumentedSample_ExitsZero(string sample)
    {
        var (exitCode, process) = await RunAsync("validate", "--config-file", Sample(sample));
        await using var _ = process;

        Assert.True(exitCode == 0, process.Output);
        Assert.Contains(": valid EndpointPickerConfig", process.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_InvalidConfig_ExitsOneWithEveryErrorAndLine()
    {
        var (exitCode, process) = await RunAsync("validate", "--config-text", """
            apiVersion: inference.networking.x-k8s.io/v1alpha1
            kind: EndpointPickerConfig
            plugins:
            - type: least-queue-filter
            - type: latency-scorer
            """);
        await using var _ = process;

        Assert.Equal(1, exitCode);
        Assert.Contains("<config-text>:4:3: plugins[0].type: plugin type \"least-queue-filter\" was removed", process.StandardError, StringComparison.Ordinal);
        Assert.Contains("<config-text>:5:3: plugins[1].type: plugin type \"latency-scorer\" is not available in this build", process.StandardError, StringComparison.Ordinal);
        Assert.Contains("<config-text>: 2 errors", process.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plugins_OutputJson_MachineReadableListing()
    {
        var (exitCode, process) = await RunAsync("plugins", "--output", "json");
        await using var _ = process;

        Assert.Equal(0, exitCode);
        using var listing = JsonDocument.Parse(process.StandardOutput);
        var types = listing.RootElement.GetProperty("plugins").EnumerateArray().Select(p => p.GetProperty("type").GetString()).ToArray();
        Assert.Contains("queue-scorer", types);
        Assert.Contains("static-usage-limit-policy", types);
        Assert.Contains(listing.RootElement.GetProperty("tombstones").EnumerateArray(), t => t.GetProperty("type").GetString() == "decision-tree-filter");
    }

    [Fact]
    public async Task Serve_InvalidConfig_RefusesToStartWithTheErrors()
    {
        var (exitCode, process) = await RunAsync("serve", "--secure-serving=false", "--grpc-port", "0", "--config-text", "apiVersion: v1\nkind: EndpointPickerConfig\n");
        await using var _ = process;

        Assert.Equal(1, exitCode);
        Assert.Contains("<config-text>:1:1: apiVersion: unsupported apiVersion \"v1\"", process.StandardError, StringComparison.Ordinal);
        Assert.Contains("refusing to start: the configuration is invalid", process.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_ValidConfigFile_BuildsTheEndpointPickerItDescribes()
    {
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--config-file", Sample("flow-control.yaml")]);

        var log = server.Process.Output;
        Assert.Contains("Configuration " + Sample("flow-control.yaml") + " loaded", log, StringComparison.Ordinal);
        Assert.Contains("flow control on", log, StringComparison.Ordinal);
        Assert.DoesNotContain("--config-file is accepted for compatibility", log, StringComparison.Ordinal);
    }
}
