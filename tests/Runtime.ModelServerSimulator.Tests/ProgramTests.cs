using System.Diagnostics;
using System.Text.RegularExpressions;
using Runtime.Simulation.Tests.Support;

namespace Runtime.Simulation.Tests;

/// <summary>The console program, started as a child process from the test's output folder.</summary>
public sealed partial class ProgramTests
{
    private static readonly string s_executable = Path.Combine(AppContext.BaseDirectory, "Runtime.ModelServerSimulator");

    [Fact]
    public async Task Main_CountTwo_PrintsOneLinePerServerAndStopsOnSigterm()
    {
        using var process = Start("--port", "0", "--count", "2", "--lora", "sql-lora", "--max-running", "4");
        try
        {
            var addresses = new List<string>();
            for (var i = 0; i < 2; i++)
            {
                var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
                var match = ListeningLine().Match(line ?? string.Empty);
                Assert.True(match.Success, $"unexpected line: {line}");
                Assert.Equal($"sim-{match.Groups["port"].Value}", match.Groups["name"].Value);
                addresses.Add(match.Groups["address"].Value);
            }

            using var client = new HttpClient();
            foreach (var address in addresses)
            {
                var page = PrometheusText.Parse(await client.GetStringAsync($"http://{address}/metrics"));
                Assert.Equal("4", page.Only("vllm:lora_requests_info").Labels["max_lora"]);
            }

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    [Fact]
    public async Task Main_Help_PrintsUsage()
    {
        using var process = Start("--help");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(0, process.ExitCode);
        Assert.Contains("--time-per-token-ms", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Main_UnknownOption_ExitCode2()
    {
        using var process = Start("--bogus", "1");
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(2, process.ExitCode);
        Assert.Contains("--bogus", error, StringComparison.Ordinal);
    }

    private static Process Start(params string[] arguments)
    {
        var info = new ProcessStartInfo(s_executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info)!;
    }

    [GeneratedRegex(@"^simulator (?<name>\S+) listening on (?<address>127\.0\.0\.1:(?<port>\d+))$")]
    private static partial Regex ListeningLine();
}
