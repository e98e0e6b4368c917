namespace Runtime.EndToEnd.Tests.Tooling;

[Trait("Category", "Tooling")]
public sealed class BodyChunksTests
{
    private static readonly byte[] s_body = Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray();

    [Fact]
    public void SplitAt_Offsets_CutsExactlyThere()
    {
        var chunks = BodyChunks.SplitAt(s_body, 1, 2, 999);

        Assert.Equal([1, 1, 997, 1], chunks.Select(c => c.Length));
        Assert.Equal(s_body, BodyChunks.Join(chunks));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    public void SplitAt_OffsetOutsideBody_Throws(int offset)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BodyChunks.SplitAt(s_body, offset));
    }

    [Fact]
    public void SplitAt_DecreasingOffsets_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BodyChunks.SplitAt(s_body, 10, 5));
    }

    [Fact]
    public void SplitEvery_MaxChunk_LastChunkHoldsRemainder()
    {
        var chunks = BodyChunks.SplitEvery(s_body, 300);

        Assert.Equal([300, 300, 300, 100], chunks.Select(c => c.Length));
        Assert.Equal(s_body, BodyChunks.Join(chunks));
    }

    [Fact]
    public void SplitEvery_EmptyBody_NoChunks()
    {
        Assert.Empty(BodyChunks.SplitEvery(ReadOnlyMemory<byte>.Empty, 10));
    }

    [Fact]
    public void SplitInto_Count_NearEqualChunks()
    {
        var chunks = BodyChunks.SplitInto(s_body, 3);

        Assert.Equal([334, 333, 333], chunks.Select(c => c.Length));
        Assert.Equal(s_body, BodyChunks.Join(chunks));
    }

    [Fact]
    public void SplitRandomly_SameSeed_SameNonEmptyChunks()
    {
        var first = BodyChunks.SplitRandomly(s_body, 17, seed: 42);
        var second = BodyChunks.SplitRandomly(s_body, 17, seed: 42);

        Assert.Equal(17, first.Count);
        Assert.All(first, c => Assert.False(c.IsEmpty));
        Assert.Equal(first.Select(c => c.Length), second.Select(c => c.Length));
        Assert.Equal(s_body, BodyChunks.Join(first));
    }

    [Fact]
    public void RequestBodies_FinalEmptyEndOfStream_OnlyLastMessageEnds()
    {
        var messages = ExtProcMessages.RequestBodies(BodyChunks.SplitInto(s_body, 2), finalEmptyEndOfStream: true);

        Assert.Equal([false, false, true], messages.Select(m => m.RequestBody.EndOfStream));
        Assert.True(messages[^1].RequestBody.Body.IsEmpty);
    }

    [Fact]
    public void RequestHeaders_Defaults_EnvoyShapedHeaders()
    {
        var message = ExtProcMessages.FullDuplexRequestHeaders();

        var headers = message.RequestHeaders.Headers.Headers;
        Assert.Equal([":authority", ":path", ":method", ":scheme"], headers.Take(4).Select(h => h.Key));
        Assert.All(headers, h => Assert.Equal(string.Empty, h.Value));
        Assert.All(headers, h => Assert.Equal(h.Key.ToLowerInvariant(), h.Key));
        Assert.Equal("POST", ExtProcMessages.HeaderValueText(headers[2]));
        Assert.Equal(BodySendMode.FullDuplexStreamed, message.ProtocolConfig.RequestBodyMode);
        Assert.Equal(BodySendMode.FullDuplexStreamed, message.ProtocolConfig.ResponseBodyMode);
    }

    [Fact]
    public void ChatCompletionBodies_Create_ExactSizeValidJson()
    {
        foreach (var size in new[] { ChatCompletionBodies.MinimumBytes(), 1024, 220_000 })
        {
            var body = ChatCompletionBodies.Create(size);

            Assert.Equal(size, body.Length);
            using var json = System.Text.Json.JsonDocument.Parse(body);
            Assert.Equal(ChatCompletionBodies.DefaultModel, json.RootElement.GetProperty("model").GetString());
        }
    }
}
