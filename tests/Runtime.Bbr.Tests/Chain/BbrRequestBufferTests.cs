using System.Buffers;
using System.Text;
using Runtime.Bbr.Processors;
using Runtime.BodyParsing;
using Runtime.ExtProc.Codec;
using Runtime.Primitives.Buffers;
using Xunit;

namespace Runtime.Bbr.Tests.Chain;

[Collection(PooledBufferAccountingCollection.Name)]
public class BbrRequestBufferTests
{
    [Fact]
    public void Reset_AfterHeadersFromBodyFields_ReturnsEveryHeaderValueArray()
    {
        using var metrics = new BbrMetrics();
        var chain = new BbrChain([new BodyFieldToHeaderProcessor("m", metrics: metrics), new BodyFieldToHeaderProcessor("u", field: "user", header: "X-User")], []);
        var request = new BbrRequest(chain);
        var before = PooledBuffers.Outstanding;
        Assert.Equal(JsonBodyStatus.Ok, request.Scanner.Scan(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes("""{"model":"llama","user":"ann"}"""))));
        request.Begin(new HeaderList());
        Assert.All(chain.RequestProcessors, p => Assert.True(p.ProcessRequest(request)));
        Assert.Equal(2, request.SetHeaderCount);
        Assert.Equal(before + 2, PooledBuffers.Outstanding);

        request.Reset();

        Assert.Equal(before, PooledBuffers.Outstanding);
    }
}
