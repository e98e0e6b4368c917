using System.Buffers;
using Runtime.ModelMetrics.Prometheus;

namespace Runtime.ModelMetrics.Tests.Prometheus;

public class MetricsPageBufferTests
{
    [Fact]
    public async Task TryReadFromAsync_PageWithinLimit_HoldsWholePage()
    {
        var bytes = new byte[100_000];
        new Random(1).NextBytes(bytes);
        using var buffer = new MetricsPageBuffer(200_000);
        Assert.True(await buffer.TryReadFromAsync(new MemoryStream(bytes), null, default));
        Assert.True(buffer.Page.SequenceEqual(bytes));
        Assert.True(await buffer.TryReadFromAsync(new MemoryStream(bytes, 0, 10), 10, default));
        Assert.Equal(10, buffer.Length);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TryReadFromAsync_PageOverLimit_Fails(bool withLength)
    {
        using var buffer = new MetricsPageBuffer(1000);
        Assert.False(await buffer.TryReadFromAsync(new MemoryStream(new byte[1001]), withLength ? 1001 : null, default));
        Assert.True(await buffer.TryReadFromAsync(new MemoryStream(new byte[1000]), withLength ? 1000 : null, default));
        Assert.Equal(1000, buffer.Length);
    }

    [Fact]
    public void TryAppend_MultiSegmentSequence_IsJoined()
    {
        var first = new Segment("a 1\nb "u8.ToArray());
        var last = first.Append("2\n"u8.ToArray());
        var sequence = new ReadOnlySequence<byte>(first, 0, last, 2);
        using var buffer = new MetricsPageBuffer(100);
        Assert.True(buffer.TryAppend(sequence));
        Assert.True(buffer.Page.SequenceEqual("a 1\nb 2\n"u8));
        Assert.False(buffer.TryAppend(new byte[93]));
        buffer.Clear();
        Assert.Equal(0, buffer.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] bytes) => Memory = bytes;

        public Segment Append(byte[] bytes)
        {
            var next = new Segment(bytes) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
