using Runtime.Host.Cli;
using Runtime.Host.Serve;
using Runtime.Plugins.Values;
using Xunit;

namespace Runtime.Host.Tests.Cli;

public class FlagSetTests
{
    [Fact]
    public void TryParse_GoStyleForms_AllAccepted()
    {
        Assert.True(ServeCommand.TryParse(
            ["-grpc-port", "7002", "--grpc-health-port=7003", "--secure-serving=false", "-v=3", "--shutdown-grace-period", "1m30s"],
            out var options, out var errors, out _), string.Join("; ", errors));
        Assert.Equal(7002, options.GrpcPort);
        Assert.Equal(7003, options.GrpcHealthPort);
        Assert.False(options.SecureServing);
        Assert.Equal(3, options.Verbosity);
        Assert.Equal(TimeSpan.FromSeconds(90), options.Grpc.ShutdownGracePeriod);
    }

    [Fact]
    public void TryParse_BareBoolFlag_MeansTrueAndDoesNotEatNextArgument()
    {
        Assert.True(ServeCommand.TryParse(["--secure-serving", "--grpc-port", "1"], out var options, out _, out _));
        Assert.True(options.SecureServing);
        Assert.Equal(1, options.GrpcPort);
    }

    [Fact]
    public void TryParse_SeveralProblems_ReportsEveryOne()
    {
        Assert.False(ServeCommand.TryParse(
            ["--no-such-flag=1", "--grpc-port", "abc", "--bind-address", "not-an-ip", "--default-request-body-mode", "SIDEWAYS", "--metrics-port"],
            out _, out var errors, out _));
        Assert.Contains("flag provided but not defined: -no-such-flag", errors);
        Assert.Contains("invalid value \"abc\" for flag -grpc-port", errors);
        Assert.Contains(errors, e => e.StartsWith("invalid value \"not-an-ip\" for flag -bind-address", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("invalid value \"SIDEWAYS\" for flag -default-request-body-mode", StringComparison.Ordinal));
        Assert.Contains("flag needs an argument: -metrics-port", errors);
        Assert.Equal(5, errors.Count);
    }

    [Fact]
    public void TryParse_GoEndpointPickerFlagsNotYetUsed_AcceptedAndListed()
    {
        Assert.True(ServeCommand.TryParse(["--pool-name", "vllm-llama3", "--pool-namespace=default", "--enable-pprof=true"], out var options, out _, out _));
        Assert.Equal("vllm-llama3", options.PoolName);
        Assert.Equal("default", options.PoolNamespace);
        Assert.Equal(["enable-pprof"], options.AcceptedButUnused);
    }

    [Theory]
    [InlineData("--pool-name=p", "--endpoints=10.0.0.1:8000", "static endpoint lists")]
    [InlineData("--pool-name=p", "--endpoint-selector=app=x", "exclusive")]
    [InlineData("--endpoint-selector=app=x", "--v=1", "go together")]
    [InlineData("--manifests-dir=/tmp/x", "--v=1", "needs --pool-name")]
    [InlineData("--pool-name=p", "--objective=premium=10", "for static endpoints")]
    public void TryParse_ConflictingControlPlaneFlags_Rejected(string first, string second, string expected)
    {
        Assert.False(ServeCommand.TryParse([first, second], out _, out var errors, out _));
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("50ms", 50)]
    [InlineData("1m30s", 90_000)]
    [InlineData("2h", 7_200_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("0", 0)]
    public void GoDuration_TryParse_GoFormats(string text, long ms)
    {
        Assert.True(GoDuration.TryParse(text, out var value));
        Assert.Equal(ms, (long)value.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("5 s")]
    [InlineData("3d")]
    public void GoDuration_TryParse_Invalid(string text) => Assert.False(GoDuration.TryParse(text, out _));
}
