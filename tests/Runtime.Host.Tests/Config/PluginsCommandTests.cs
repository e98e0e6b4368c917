using System.Text.Json;
using Runtime.Host.Config;
using Runtime.Host.Serve;
using Xunit;

namespace Runtime.Host.Tests.Config;

public class PluginsCommandTests
{
    private static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = PluginsCommand.Run(args, output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public void Run_Default_TableOfTypes()
    {
        var (exitCode, output, _) = Run();

        Assert.Equal(0, exitCode);
        Assert.StartsWith("TYPE", output, StringComparison.Ordinal);
        Assert.Contains("queue-scorer", output, StringComparison.Ordinal);
        Assert.Matches(@"\nutilization-filter +filter +Alpha ", output);
        Assert.Contains("Alpha types (as llm-d v0.10 declares them) load only with --allow-experimental-plugins (serve, validate).", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_OutputJson_ValidJsonListing()
    {
        var (exitCode, output, _) = Run("--output", "json");

        Assert.Equal(0, exitCode);
        using var document = JsonDocument.Parse(output);
        Assert.True(document.RootElement.GetProperty("plugins").GetArrayLength() > 20);
    }

    [Fact]
    public void Run_UnknownFormat_ExitTwo()
    {
        var (exitCode, _, error) = Run("--output", "yaml");

        Assert.Equal(2, exitCode);
        Assert.Contains("invalid value \"yaml\" for flag -output: table or json", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ServeTryParse_ConfigFileAndText_RejectedTogetherAsInGo()
    {
        Assert.True(ServeCommand.TryParse(["--config-file", "/etc/epp/config.yaml", "--pool-name", "p"], out var options, out _, out _));
        Assert.Equal("/etc/epp/config.yaml", options.ConfigFile);

        Assert.False(ServeCommand.TryParse(["--config-file", "/etc/epp/config.yaml", "--config-text=x", "--pool-name", "p"], out _, out var errors, out _));
        Assert.Contains("both the \"config-file\" and \"config-text\" flags cannot be set at the same time", errors);
    }
}
