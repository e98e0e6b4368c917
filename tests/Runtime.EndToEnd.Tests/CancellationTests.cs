using Runtime.EndToEnd.Tests.Fixtures;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// Envoy resets an ext_proc stream (RST_STREAM) when the downstream request goes away,
/// often mid-body. The server must drop the stream, return its resources and keep serving.
/// </summary>
[Collection(RuntimeServerCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class CancellationTests(RuntimeServerFixture server)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Process_AbortMidBody_ServerKeepsServing()
    {
        using var client = server.CreateExtProcClient();
        var exchange = await client.StartAsync();
        await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
        await exchange.SendAsync(ExtProcMessages.RequestBody(ChatCompletionBodies.Create(50_000).AsSpan(0, 30_000), endOfStream: false));
        await exchange.ReadRequiredAsync(s_timeout);

        exchange.Abort();
        await exchange.DisposeAsync();

        await ServerChecks.AssertStillServesAsync(server);
    }

    [Fact]
    public async Task Process_DisposeBeforeAnyReply_ServerKeepsServing()
    {
        using var client = server.CreateExtProcClient();

        await using (var exchange = await client.StartAsync())
        {
            await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
        }

        await ServerChecks.AssertStillServesAsync(server);
    }

    [Fact]
    public async Task Process_AbortDuringResponsePhase_ServerKeepsServing()
    {
        using var client = server.CreateExtProcClient();
        await using var exchange = await client.StartAsync();
        await exchange.SendAllAsync([
            ExtProcMessages.FullDuplexRequestHeaders(),
            ExtProcMessages.RequestBody("{}"u8, endOfStream: true),
            ExtProcMessages.ResponseHeaders(headers: [new("content-type", "text/event-stream")]),
            ExtProcMessages.ResponseBody("data: {}\n\n"u8, endOfStream: false),
        ]);
        for (var i = 0; i < 4; i++)
        {
            await exchange.ReadRequiredAsync(s_timeout);
        }

        exchange.Abort();

        await ServerChecks.AssertStillServesAsync(server);
    }

    [Fact]
    public async Task Process_FiveHundredConcurrentAbortsMidBody_ServerKeepsServing()
    {
        using var client = server.CreateExtProcClient();
        var chunk = ChatCompletionBodies.Create(8_192);

        await Parallel.ForEachAsync(Enumerable.Range(0, 500), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (_, ct) =>
        {
            await using var exchange = await client.StartAsync(ct);
            await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders(), ct);
            await exchange.SendAsync(ExtProcMessages.RequestBody(chunk, endOfStream: false), ct);
            exchange.Abort();
        });

        await ServerChecks.AssertStillServesAsync(server);
    }

    [Fact]
    public async Task Process_ClientHalfClosesMidBody_ServerEndsCallWithoutHanging()
    {
        // END_STREAM without a body end_of_stream: Envoy never does this, but the server
        // must still end the call (any status) rather than wait forever.
        using var client = server.CreateExtProcClient();
        await using var exchange = await client.StartAsync();
        await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
        await exchange.SendAsync(ExtProcMessages.RequestBody("{\"model\":"u8, endOfStream: false));
        await exchange.CompleteAsync();

        await exchange.ReadToEndAsync(s_timeout);
        var status = await exchange.GetStatusAsync(s_timeout);

        Assert.NotNull(status.Code);
        await ServerChecks.AssertStillServesAsync(server);
    }
}
