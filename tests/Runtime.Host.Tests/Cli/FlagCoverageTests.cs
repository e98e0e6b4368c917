using System.Text.RegularExpressions;
using Runtime.ExtProc.Codec;
using Runtime.Host.Bbr;
using Runtime.Host.Serve;
using Runtime.TestSupport.Hosting;
using Xunit;

namespace Runtime.Host.Tests.Cli;

/// <summary>
/// Every flag <c>runtime serve --help</c> and <c>runtime bbr --help</c> list either does something a
/// test observes, or says in its help that it has no effect here. A new flag with neither fails.
/// </summary>
public sealed partial class FlagCoverageTests
{
    private static readonly Lazy<string[]> s_testSources = new(() =>
        Directory.EnumerateFiles(RepositoryPaths.Combine("tests"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(File.ReadAllText)
            .ToArray());

    [GeneratedRegex(@"^  --(?<name>[a-z0-9-]+)", RegexOptions.Multiline)]
    private static partial Regex FlagLine();

    public static TheoryData<string, string> Flags()
    {
        _ = ServeCommand.TryParse([], out _, out _, out var serveUsage);
        _ = BbrCommand.TryParse([], out _, out _, out var bbrUsage, _ => null);
        var data = new TheoryData<string, string>();
        foreach (var (command, usage) in new[] { ("serve", serveUsage), ("bbr", bbrUsage) })
        {
            foreach (Match match in FlagLine().Matches(usage))
            {
                data.Add(command, match.Groups["name"].Value);
            }
        }

        return data;
    }

    private static string Help(string command)
    {
        string usage;
        if (command == "serve")
        {
            _ = ServeCommand.TryParse([], out _, out _, out usage);
        }
        else
        {
            _ = BbrCommand.TryParse([], out _, out _, out usage, _ => null);
        }

        return usage;
    }

    /// <summary>The help lines of one flag: its usage line and any notes under it.</summary>
    private static string[] HelpOf(string command, string flag)
    {
        var lines = Help(command).Split('\n');
        var start = Array.FindIndex(lines, l => l.StartsWith($"  --{flag}", StringComparison.Ordinal) && (l.Length == flag.Length + 4 || l[flag.Length + 4] == ' '));
        var end = Array.FindIndex(lines, start + 1, l => l.StartsWith("  --", StringComparison.Ordinal));
        return lines[start..(end < 0 ? lines.Length : end)];
    }

    [Fact]
    public void BothCommands_ListTheirGoFlags()
    {
        Assert.True(Flags().Count(f => (string)f[0] == "serve") >= 60);
        Assert.True(Flags().Count(f => (string)f[0] == "bbr") >= 15);
    }

    [Theory]
    [MemberData(nameof(Flags))]
    public void Flag_IsExercisedByATest_OrSaysItHasNoEffect(string command, string flag)
    {
        var help = string.Join('\n', HelpOf(command, flag));
        Assert.DoesNotContain("not implemented", help, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("not enforced", help, StringComparison.OrdinalIgnoreCase);
        var saysNoEffect = help.Contains("here: no effect", StringComparison.Ordinal);
        var exercised = s_testSources.Value.Any(source => source.Contains($"\"--{flag}\"", StringComparison.Ordinal) || source.Contains($"\"--{flag}=", StringComparison.Ordinal));
        Assert.True(saysNoEffect || exercised, $"runtime {command} --{flag}: no test passes it and its help does not say it has no effect");
    }

    [Theory]
    [InlineData("--grpc-max-message-size", "1000")]
    [InlineData("--grpc-max-concurrent-streams", "7")]
    [InlineData("--http2-connection-window", "131072")]
    [InlineData("--http2-stream-window", "262144")]
    [InlineData("--shutdown-grace-period", "3s")]
    [InlineData("--default-request-body-mode", "BUFFERED")]
    [InlineData("--default-response-body-mode", "STREAMED")]
    [InlineData("--endpoints-file", "/etc/runtime/endpoints.txt")]
    [InlineData("--kube-relist-interval", "30s")]
    [InlineData("--grpc-max-send-msg-size", "10MiB")]
    [InlineData("--emit-endpoint-scores", "true")]
    [InlineData("--disable-endpoint-subset-filter", "true")]
    [InlineData("--health-checking", "true")]
    [InlineData("--refresh-metrics-interval", "250ms")]
    [InlineData("--model-server-metrics-scheme", "https")]
    [InlineData("--model-server-metrics-https-insecure-skip-verify", "false")]
    [InlineData("--max-buffered-body-bytes", "512Mi")]
    [InlineData("--buffer-pool-retain-bytes", "8Mi")]
    public void OurServeTuningFlags_ReachTheComponentTheyConfigure(string flag, string value)
    {
        string[] given = value is "true" or "false" ? [$"{flag}={value}"] : [flag, value];
        Assert.True(ServeCommand.TryParse(["--endpoints", "10.0.0.1:8000", .. given], out var options, out var errors, out _), string.Join("\n", errors));
        Assert.True(ServeCommand.TryParse(["--endpoints", "10.0.0.1:8000"], out var defaults, out _, out _));
        Assert.NotEqual(Read(defaults), Read(options));

        object actual = Read(options);
        object expected = flag switch
        {
            "--shutdown-grace-period" => TimeSpan.FromSeconds(3),
            "--kube-relist-interval" => TimeSpan.FromSeconds(30),
            "--default-request-body-mode" => BodySendMode.Buffered,
            "--default-response-body-mode" => BodySendMode.Streamed,
            "--endpoints-file" or "--model-server-metrics-scheme" => value,
            "--grpc-max-send-msg-size" => 10 * 1024 * 1024,
            "--emit-endpoint-scores" or "--disable-endpoint-subset-filter" or "--health-checking" or "--model-server-metrics-https-insecure-skip-verify" => bool.Parse(value),
            "--refresh-metrics-interval" => TimeSpan.FromMilliseconds(250),
            "--max-buffered-body-bytes" => 512L * 1024 * 1024,
            "--buffer-pool-retain-bytes" => 8L * 1024 * 1024,
            _ => int.Parse(value, System.Globalization.CultureInfo.InvariantCulture),
        };
        Assert.Equal(expected, actual);

        object Read(ServeOptions o) => flag switch
        {
            "--grpc-max-message-size" => o.Grpc.MaxReceiveMessageSize,
            "--grpc-max-concurrent-streams" => o.Grpc.MaxStreamsPerConnection,
            "--http2-connection-window" => o.Grpc.InitialConnectionWindowSize,
            "--http2-stream-window" => o.Grpc.InitialStreamWindowSize,
            "--shutdown-grace-period" => o.Grpc.ShutdownGracePeriod,
            "--default-request-body-mode" => o.DefaultRequestBodyMode,
            "--default-response-body-mode" => o.DefaultResponseBodyMode,
            "--endpoints-file" => o.EndpointsFile ?? string.Empty,
            "--grpc-max-send-msg-size" => o.Grpc.MaxSendMessageSize ?? 0,
            "--emit-endpoint-scores" => o.EmitEndpointScores,
            "--disable-endpoint-subset-filter" => o.DisableEndpointSubsetFilter,
            "--health-checking" => o.HealthCheckingOnExtProcPort,
            "--refresh-metrics-interval" => o.RefreshMetricsInterval,
            "--model-server-metrics-scheme" => o.MetricsScheme,
            "--model-server-metrics-https-insecure-skip-verify" => o.MetricsInsecureSkipVerify,
            "--max-buffered-body-bytes" => o.MaxBufferedBodyBytes,
            "--buffer-pool-retain-bytes" => o.BufferPoolRetainBytes,
            _ => o.KubeRelistInterval,
        };
    }

    [Theory]
    [InlineData("--max-buffered-body-bytes", "0")]
    [InlineData("--max-buffered-body-bytes", "lots")]
    [InlineData("--buffer-pool-retain-bytes", "-1")]
    public void BodyMemoryFlags_RejectBadSizes_OnBothCommands(string flag, string value)
    {
        Assert.False(ServeCommand.TryParse(["--endpoints", "10.0.0.1:8000", $"{flag}={value}"], out _, out var serveErrors, out _));
        Assert.Contains(serveErrors, e => e.Contains($"invalid value \"{value}\" for flag {flag[1..]}", StringComparison.Ordinal));
        Assert.False(BbrCommand.TryParse([$"{flag}={value}"], out _, out var bbrErrors, out _, _ => null));
        Assert.Contains(bbrErrors, e => e.Contains($"invalid value \"{value}\" for flag {flag[1..]}", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("normal")]
    [InlineData("batch")]
    public void ThreadScheduling_ReachesTheOptions_OnBothCommands(string value)
    {
        var expected = value == "batch" ? ThreadSchedulingPolicy.Batch : ThreadSchedulingPolicy.Normal;
        Assert.True(ServeCommand.TryParse(["--endpoints", "10.0.0.1:8000", $"--thread-scheduling={value}"], out var serve, out var errors, out _), string.Join("\n", errors));
        Assert.Equal(expected, serve.ThreadScheduling);
        Assert.True(BbrCommand.TryParse([$"--thread-scheduling={value}"], out var bbr, out var bbrErrors, out _, _ => null), string.Join("\n", bbrErrors));
        Assert.Equal(expected, bbr.Options.ThreadScheduling);
    }

    [Theory]
    [InlineData("fifo")]
    [InlineData("BATCH")]
    [InlineData("")]
    public void ThreadScheduling_RejectsOtherPolicies_OnBothCommands(string value)
    {
        Assert.False(ServeCommand.TryParse(["--endpoints", "10.0.0.1:8000", $"--thread-scheduling={value}"], out _, out var serveErrors, out _));
        Assert.Contains(serveErrors, e => e.Contains($"invalid value \"{value}\" for flag -thread-scheduling", StringComparison.Ordinal));
        Assert.False(BbrCommand.TryParse([$"--thread-scheduling={value}"], out _, out var bbrErrors, out _, _ => null));
        Assert.Contains(bbrErrors, e => e.Contains("must be normal or batch", StringComparison.Ordinal));
    }

    [Fact]
    public void MaxBufferedBodyBytes_Auto_IsAQuarterOfAvailableMemory_NotLessThan64Mi()
    {
        Assert.True(ServeCommand.TryParse(["--endpoints", "10.0.0.1:8000"], out var options, out _, out _));
        Assert.Equal(0, options.MaxBufferedBodyBytes);
        var limit = Runtime.ExtProc.Buffers.BodyBufferBudget.DefaultLimit();
        Assert.True(limit >= 64L * 1024 * 1024);
        Assert.True(limit <= Math.Max(64L * 1024 * 1024, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4));
    }

    [Fact]
    public void ReplicaStateCompanionFlags_ReachTheReplicaStateOptions()
    {
        var passwordFile = Path.GetTempFileName();
        try
        {
            File.WriteAllText(passwordFile, "s3cret\n");
            Assert.True(ServeCommand.TryParse(
                ["--endpoints", "10.0.0.1:8000", "--replica-state", "redis://127.0.0.1:6379/2", "--replica-state-password-file", passwordFile, "--replica-state-ttl", "7s", "--replica-state-history", "3m", "--replica-state-interval", "40ms"],
                out var options, out var errors, out _), string.Join("\n", errors));

            var shared = options.ReplicaState!;
            Assert.Equal("s3cret", shared.Password);
            Assert.Equal(TimeSpan.FromSeconds(7), shared.LoadTtl);
            Assert.Equal(TimeSpan.FromMinutes(3), shared.History);
            Assert.Equal(TimeSpan.FromMilliseconds(40), shared.Interval);
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }
}
