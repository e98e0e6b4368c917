using System.Globalization;
using System.Text.Json;
using Runtime.Proto.Envoy.Config.Core.V3;

namespace Runtime.EndToEnd.Tests.Tooling;

/// <summary>perf/load/make-exchange.py output, parsed with Google.Protobuf as the oracle.</summary>
[Trait("Category", "Tooling")]
public sealed class MakeExchangeScriptTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("make-exchange-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(1024, 1)]
    [InlineData(62_000, 1)]
    [InlineData(62_001, 2)]
    [InlineData(220_000, 4)]
    public async Task Output_BodyBytes_EnvoyFullDuplexExchange(int bodyBytes, int expectedChunks)
    {
        var messages = await RunAsync("--body-bytes", Invariant(bodyBytes));

        var headers = messages[0];
        Assert.Equal(ProcessingRequest.RequestOneofCase.RequestHeaders, headers.RequestCase);
        Assert.False(headers.RequestHeaders.EndOfStream);
        Assert.Equal(BodySendMode.FullDuplexStreamed, headers.ProtocolConfig.RequestBodyMode);
        Assert.Equal(BodySendMode.FullDuplexStreamed, headers.ProtocolConfig.ResponseBodyMode);
        var map = ToDictionary(headers.RequestHeaders.Headers);
        Assert.Equal("POST", map[":method"]);
        Assert.Equal("/v1/chat/completions", map[":path"]);
        Assert.Equal("http", map[":scheme"]);
        Assert.Equal("gateway.test", map[":authority"]);
        Assert.Equal(Invariant(bodyBytes), map["content-length"]);
        Assert.All(headers.RequestHeaders.Headers.Headers, h => Assert.Equal(string.Empty, h.Value));

        var bodies = messages.Skip(1).ToList();
        Assert.Equal(expectedChunks, bodies.Count);
        Assert.All(bodies, m => Assert.Equal(ProcessingRequest.RequestOneofCase.RequestBody, m.RequestCase));
        Assert.All(bodies, m => Assert.True(m.RequestBody.Body.Length <= BodyChunks.GieChunkBytes));
        Assert.All(bodies, m => Assert.Null(m.ProtocolConfig));
        Assert.Equal([.. Enumerable.Repeat(false, expectedChunks - 1), true], bodies.Select(m => m.RequestBody.EndOfStream));

        var body = BodyChunks.Join(bodies.Select(m => m.RequestBody.Body.Memory));
        Assert.Equal(ChatCompletionBodies.Create(bodyBytes), body);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(ChatCompletionBodies.DefaultModel, json.RootElement.GetProperty("model").GetString());
    }

    [Fact]
    public async Task Output_ChunkBytesAndFinalEmptyChunk_EndsWithEmptyEndOfStream()
    {
        var messages = await RunAsync("--body-bytes", "2500", "--chunk-bytes", "1000", "--final-empty-chunk");

        var bodies = messages.Skip(1).Select(m => m.RequestBody).ToList();
        Assert.Equal([1000, 1000, 500, 0], bodies.Select(b => b.Body.Length));
        Assert.Equal([false, false, false, true], bodies.Select(b => b.EndOfStream));
    }

    [Fact]
    public async Task Output_ResponseBodyBytes_AppendsResponsePhase()
    {
        var messages = await RunAsync("--body-bytes", "1024", "--response-body-bytes", "70000");

        var responseHeaders = Assert.Single(messages, m => m.RequestCase == ProcessingRequest.RequestOneofCase.ResponseHeaders);
        Assert.Equal("200", ToDictionary(responseHeaders.ResponseHeaders.Headers)[":status"]);
        var responseBodies = messages.SkipWhile(m => m != responseHeaders).Skip(1).Select(m => m.ResponseBody).ToList();
        Assert.Equal(70_000, responseBodies.Sum(b => b.Body.Length));
        Assert.Equal([false, true], responseBodies.Select(b => b.EndOfStream));
        Assert.EndsWith("data: [DONE]\n\n", responseBodies[^1].Body.ToStringUtf8(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Output_BufferedModes_ProtocolConfigCarriesThem()
    {
        var messages = await RunAsync("--request-body-mode", "BUFFERED", "--response-body-mode", "NONE");

        Assert.Equal(BodySendMode.Buffered, messages[0].ProtocolConfig.RequestBodyMode);
        Assert.Equal(BodySendMode.None, messages[0].ProtocolConfig.ResponseBodyMode);
    }

    [Fact]
    public async Task Run_BodyTooSmallForJson_ExitsNonZero()
    {
        await using var process = StartScript("--body-bytes", "10", "-o", Path.Combine(_directory, "never.bin"));

        Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("--body-bytes must be at least", process.StandardError, StringComparison.Ordinal);
    }

    private async Task<IReadOnlyList<ProcessingRequest>> RunAsync(params string[] arguments)
    {
        var output = Path.Combine(_directory, $"{Guid.NewGuid():N}.bin");
        await using var process = StartScript([.. arguments, "-o", output]);
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(exitCode == 0, $"make-exchange.py exited with {exitCode}:{Environment.NewLine}{process.Output}");

        var frames = GrpcFraming.DecodeAll(await File.ReadAllBytesAsync(output));
        Assert.All(frames, f => Assert.False(f.IsCompressed));
        return frames.Select(f => ProcessingRequest.Parser.ParseFrom(f.Payload.Span)).ToList();
    }

    private static RuntimeProcess StartScript(params string[] arguments) =>
        RuntimeProcess.Start("python3", [RepositoryPaths.Combine("perf", "load", "make-exchange.py"), .. arguments]);

    private static Dictionary<string, string> ToDictionary(HeaderMap map) =>
        map.Headers.ToDictionary(h => h.Key, ExtProcMessages.HeaderValueText);

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
