using Runtime.Primitives.Buffers;

namespace Runtime.ModelMetrics.Tests.Prometheus;

[Collection(PooledBufferAccountingCollection.Name)]
public class MetricsPageBufferPoolTests
{
    [Fact]
    public async Task Dispose_AfterGrowingForALargePage_ReturnsEveryPooledArray()
    {
        var before = PooledBuffers.Outstanding;
        var buffer = new Runtime.ModelMetrics.Prometheus.MetricsPageBuffer(1_000_000);
        Assert.True(await buffer.TryReadFromAsync(new MemoryStream(new byte[300_000]), null, default));
        Assert.True(PooledBuffers.Outstanding > before, "the page buffer rented nothing through the accounting point");

        buffer.Dispose();

        Assert.Equal(before, PooledBuffers.Outstanding);
    }
}
