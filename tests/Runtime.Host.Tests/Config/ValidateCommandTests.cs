using Runtime.Host.Config;
using Xunit;

namespace Runtime.Host.Tests.Config;

public class ValidateCommandTests
{
    private static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = ValidateCommand.Run(args, output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public void Run_NoFlags_DefaultConfigValidAndSummarised()
    {
        var (exitCode, output, error) = Run();

        Assert.Equal(0, exitCode);
        Assert.Empty(error);
        Assert.Contains("<default config>: valid EndpointPickerConfig (inference.networking.x-k8s.io/v1alpha1)", output, StringComparison.Ordinal);
        Assert.Contains("  profile default: queue-scorer x2, kv-cache-utilization-scorer x2, prefix-cache-scorer x3, max-score-picker", output, StringComparison.Ordinal);
        Assert.DoesNotContain("no implementation", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_InvalidConfigText_ExitOneWithEveryErrorAndCount()
    {
        var (exitCode, output, error) = Run("--config-text", """
            apiVersion: inference.networking.x-k8s.io/v1alpha1
            kind: EndpointPickerConfig
            plugins:
            - type: no-such-scorer
            - type: low-queue-filter
            """);

        Assert.Equal(1, exitCode);
        Assert.Empty(output);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("<config-text>:4:3: plugins[0].type: unknown plugin type \"no-such-scorer\"", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("<config-text>:5:3: plugins[1].type: plugin type \"low-queue-filter\" was removed", lines[1], StringComparison.Ordinal);
        Assert.Equal("<config-text>: 2 errors", lines[2]);
    }

    private const string AlphaConfig = """
        apiVersion: llm-d.ai/v1alpha1
        kind: EndpointPickerConfig
        plugins:
        - type: utilization-filter
          parameters: {conditions: [{metric: kv-cache-utilization, maxValue: 0.9}]}
        - type: queue-scorer
        schedulingProfiles:
        - name: default
          plugins: [{pluginRef: utilization-filter}, {pluginRef: queue-scorer}]
        """;

    [Fact]
    public void Run_AlphaPluginWithoutTheFlag_ExitOneWithLlmDsMessage()
    {
        var (exitCode, _, error) = Run("--config-text", AlphaConfig);

        Assert.Equal(1, exitCode);
        Assert.StartsWith(
            "<config-text>:4:3: plugins[0].type: plugin 'utilization-filter' (type: 'utilization-filter') has Alpha stability level, but command line flag --allow-experimental-plugins is not set",
            error,
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--allow-experimental-plugins")]
    [InlineData("--allow-experimental-plugins=true")]
    public void Run_AlphaPluginWithTheFlag_Valid(string flag)
    {
        var (exitCode, output, error) = Run(flag, "--config-text", AlphaConfig);

        Assert.True(exitCode == 0, error);
        Assert.Contains("  profile default: utilization-filter, queue-scorer", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_ConfigFile_ErrorsNameTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"epp-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\nplugins: {}\n");
        try
        {
            var (exitCode, _, error) = Run("--config-file", path);

            Assert.Equal(1, exitCode);
            Assert.StartsWith($"{path}:3:1: plugins: expected a list, got a map", error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Run_PrintEffective_WritesLoadableJson()
    {
        var (exitCode, output, _) = Run("--print-effective");

        Assert.Equal(0, exitCode);
        var json = output[output.IndexOf('{', StringComparison.Ordinal)..];
        var (again, _, _) = Run("--config-text", json);
        Assert.Equal(0, again);
    }

    [Fact]
    public void Run_UnknownFlag_UsageErrorExitTwo()
    {
        var (exitCode, _, error) = Run("--config", "x.yaml");

        Assert.Equal(2, exitCode);
        Assert.StartsWith("flag provided but not defined: -config", error, StringComparison.Ordinal);
    }
}
