using System.Globalization;
using Runtime.EndToEnd.Tests.Fixtures;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// <c>--thread-scheduling=batch</c> puts every thread of the process under SCHED_BATCH, the
/// threads started after start-up included (the pool's workers start with the first requests);
/// without it every thread keeps the kernel's default. Seen from outside, in each thread's
/// <c>/proc/PID/task/TID/stat</c>.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class ThreadSchedulingTests
{
    private const int SchedOther = 0;
    private const int SchedBatch = 3;

    [Theory]
    [InlineData("serve", null, SchedOther)]
    [InlineData("serve", "batch", SchedBatch)]
    [InlineData("bbr", "batch", SchedBatch)]
    public async Task EveryThread_RunsUnderThePolicyAsked(string command, string? policy, int expected)
    {
        List<string> arguments = command == "serve" ? ["--processor", "pass-through", "--bbr-grpc-port", "0"] : [];
        if (policy is not null)
        {
            arguments.Add($"--thread-scheduling={policy}");
        }

        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync(command, arguments);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        var body = """{"model":"m","prompt":"p"}"""u8.ToArray();
        for (var i = 0; i < 20; i++)
        {
            (await client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = BodyChunks.SplitEvery(body, 8) })).EnsureValid();
        }

        var policies = Directory.GetDirectories($"/proc/{server.Process.Id}/task")
            .Select(task => (Thread: File.ReadAllText(Path.Combine(task, "comm")).Trim(), Policy: PolicyOf(task)))
            .ToList();
        Assert.True(policies.Count > 3, $"{policies.Count} threads\n{server.Diagnostics}");
        var others = policies.Where(p => p.Policy != expected).ToList();
        Assert.True(others.Count == 0, $"threads not under policy {expected}: {string.Join(", ", others)}\n{server.Diagnostics}");
        if (policy == "batch")
        {
            Assert.Contains("Threads run under SCHED_BATCH", server.Process.Output, StringComparison.Ordinal);
        }
    }

    /// <summary>Field 41 of the thread's stat line; the fields after the parenthesised name start at 3.</summary>
    private static int PolicyOf(string task)
    {
        var stat = File.ReadAllText(Path.Combine(task, "stat"));
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[41 - 3], CultureInfo.InvariantCulture);
    }
}
