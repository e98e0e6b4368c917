using System.Buffers;
using System.Text;
using Runtime.Primitives.Buffers;

namespace Runtime.BodyParsing.Tests;

[Collection(PooledBufferAccountingCollection.Name)]
public class JsonBodyRewriterBufferTests
{
    [Fact]
    public void Dispose_AfterAdditions_ReturnsTheScratchArrayItKeptBetweenBodies()
    {
        var before = PooledBuffers.Outstanding;
        var scanner = new JsonBodyScanner(new JsonFieldSet(TestBodies.KnownNames));
        scanner.Scan(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes("""{"model":"a"}""")));
        var rewriter = new JsonBodyRewriter();
        rewriter.Begin(scanner);
        Assert.True(rewriter.AddString("x"u8, Enumerable.Repeat((byte)'v', 5000).ToArray()));

        rewriter.Reset();
        Assert.True(PooledBuffers.Outstanding > before, "the rewriter rented no scratch array through the accounting point");

        rewriter.Dispose();
        Assert.Equal(before, PooledBuffers.Outstanding);
    }
}
