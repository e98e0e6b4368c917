using Runtime.Host.Serve;
using Xunit;

namespace Runtime.Host.Tests.Serve;

/// <summary><c>--ha-enable-leader-election</c> needs the Kubernetes API; <c>--watch-config-file</c> defaults on.</summary>
public sealed class HighAvailabilityFlagsTests
{
    [Theory]
    [InlineData("--pool-name", "p", "--manifests-dir", "/tmp")]
    [InlineData("--endpoints", "10.0.0.1:8000")]
    [InlineData("--endpoints-file", "/tmp/endpoints")]
    [InlineData]
    public void LeaderElection_WithoutTheKubernetesApi_IsAStartUpError(params string[] args)
    {
        Assert.False(ServeCommand.TryParse(["--ha-enable-leader-election", .. args], out _, out var errors, out _));

        Assert.Contains("--ha-enable-leader-election takes a Lease in the Kubernetes API: it needs --pool-name (or --endpoint-selector) without --manifests-dir, --endpoints or --endpoints-file", errors);
    }

    [Theory]
    [InlineData("--pool-name", "p")]
    [InlineData("--endpoint-selector", "app=vllm", "--endpoint-target-ports", "8000")]
    public void LeaderElection_WithTheKubernetesApi_IsOn_WithoutANote(params string[] args)
    {
        Assert.True(ServeCommand.TryParse(["--ha-enable-leader-election", .. args], out var options, out var errors, out _), string.Join("\n", errors));

        Assert.True(options.LeaderElection);
        Assert.DoesNotContain(options.FlagNotes, n => n.Contains("leader", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false, "--watch-config-file=false")]
    [InlineData(true, "--watch-config-file")]
    public void WatchConfigFile_DefaultsOn(bool expected, params string[] args)
    {
        Assert.True(ServeCommand.TryParse(["--config-file", "/tmp/c.yaml", .. args], out var options, out var errors, out _), string.Join("\n", errors));

        Assert.Equal(expected, options.WatchConfigFile);
    }
}
