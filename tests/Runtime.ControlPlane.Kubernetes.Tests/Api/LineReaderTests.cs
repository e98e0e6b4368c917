using System.Text;
using Runtime.ControlPlane.Kubernetes.Api;

namespace Runtime.ControlPlane.Kubernetes.Tests.Api;

public sealed class LineReaderTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4096)]
    public async Task ReadLineAsync_AnyChunking_YieldsEveryLine(int chunk)
    {
        var text = "{\"a\":1}\n\n{\"b\":" + new string('x', 40_000) + "}\r\nlast";
        using var reader = new LineReader(new TrickleStream(Encoding.UTF8.GetBytes(text), chunk), 1024 * 1024);

        var lines = new List<string>();
        while (await reader.ReadLineAsync(CancellationToken.None) is { } line)
        {
            lines.Add(Encoding.UTF8.GetString(line.Span));
        }

        Assert.Equal(4, lines.Count);
        Assert.Equal("{\"a\":1}", lines[0]);
        Assert.Equal(string.Empty, lines[1]);
        Assert.Equal(40_007, lines[2].Length); // with its '\r', which the JSON parser ignores
        Assert.Equal("last", lines[3]);
    }

    [Fact]
    public async Task ReadLineAsync_LineOverTheLimit_Throws()
    {
        using var reader = new LineReader(new MemoryStream(new byte[100_000]), 32 * 1024);

        await Assert.ThrowsAsync<InvalidDataException>(async () => await reader.ReadLineAsync(CancellationToken.None));
    }

    /// <summary>Returns at most <c>chunk</c> bytes per read, as a network stream may.</summary>
    private sealed class TrickleStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(chunk, buffer.Length)], cancellationToken);
    }
}
