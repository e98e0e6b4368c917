using System.Buffers;
using System.Text;

namespace Runtime.BodyParsing.Tests;

/// <summary>The last SSE event of a streamed response, however the stream is chunked (tests/Runtime.Fuzz target sse).</summary>
public class SseTailTests
{
    private const string Stream = "data: {\"a\":1}\n\ndata: {\"usage\":{\"prompt_tokens\":2}}\n\ndata: [DONE]\n\n";

    [Fact]
    public void LastEventJson_WholeStream_IsTheLastDataEventBeforeDone()
    {
        Assert.Equal("{\"usage\":{\"prompt_tokens\":2}}", Last(Stream));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(14)]
    [InlineData(15)]
    public void LastEventJson_EveryChunkSize_SameAsWhole(int chunkSize)
    {
        // The blank line that ends an event used to be missed when a chunk ended between its two
        // newlines: the next event was then glued onto the first one's JSON.
        Assert.Equal(Last(Stream), Last(Stream, chunkSize));
    }

    [Fact]
    public void LastEventJson_ChunkEndsBetweenTheTwoNewlines_EventsStaySeparate()
    {
        Assert.Equal("{\"b\":2}", Last(["data: {\"a\":1}\n", "\ndata: {\"b\":2}\n\n"]));
    }

    [Fact]
    public void LastEventJson_CrLfLineEnds_EndEventsToo()
    {
        var crlf = Stream.Replace("\n", "\r\n", StringComparison.Ordinal);

        Assert.Equal("{\"usage\":{\"prompt_tokens\":2}}", Last(crlf));
        Assert.Equal(Last(crlf), Last(crlf, 1));
    }

    private static string Last(string stream, int chunkSize = int.MaxValue) =>
        Last(stream.Chunk(chunkSize).Select(c => new string(c)).ToArray());

    private static string Last(string[] chunks)
    {
        var tail = new SseTail();
        foreach (var chunk in chunks)
        {
            tail.Append(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(chunk)));
        }

        return Encoding.UTF8.GetString(tail.LastEventJson().ToArray());
    }
}
