using Runtime.EndToEnd.Tests.Fixtures;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// The binary runs socket completions on .NET's socket engine threads by default
/// (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c> unless the operator set it), and an
/// operator's 0 turns that off. Seen from outside through the engine's threads: .NET starts one per
/// processor in that mode, one per 30 processors otherwise.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class SocketCompletionTests
{
    [Theory]
    [InlineData(null, true)]
    [InlineData("0", false)]
    public async Task SocketEngineThreads_FollowTheInlineCompletionsDefault(string? operatorValue, bool inline)
    {
        var environment = new Dictionary<string, string?> { ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = operatorValue };
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--processor", "pass-through", "--bbr-grpc-port", "0"], environment);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        (await client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = BodyChunks.SplitEvery(new byte[1000], 500) })).EnsureValid();

        var engines = Directory.GetDirectories($"/proc/{server.Process.Id}/task")
            .Count(task => File.ReadAllText(Path.Combine(task, "comm")).Trim() == ".NET Sockets");

        var expected = inline ? Environment.ProcessorCount : Math.Max(1, (int)Math.Round(Environment.ProcessorCount / 30.0));
        Assert.True(expected == engines, $"{engines} socket engine threads, expected {expected} (inline completions {(inline ? "on" : "off")}, {Environment.ProcessorCount} processors)\n{server.Diagnostics}");
    }
}
