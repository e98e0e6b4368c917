using System.Buffers;
using Runtime.Transport.Health;
using Xunit;

namespace Runtime.Transport.Tests.Health;

public class HealthServiceTests
{
    [Fact]
    public void TryDecodeRequest_ServiceAndUnknownFields_ReadsService()
    {
        // field 1 "abc", unknown varint field 2 = 150, unknown fixed32 field 3
        byte[] bytes = [0x0A, 3, (byte)'a', (byte)'b', (byte)'c', 0x10, 0x96, 0x01, 0x1D, 1, 2, 3, 4];
        Assert.True(HealthService.TryDecodeRequest(new ReadOnlySequence<byte>(bytes), out var service));
        Assert.Equal("abc", service);
    }

    [Fact]
    public void TryDecodeRequest_Empty_IsOverallServer()
    {
        Assert.True(HealthService.TryDecodeRequest(ReadOnlySequence<byte>.Empty, out var service));
        Assert.Equal(string.Empty, service);
    }

    [Theory]
    [InlineData(new byte[] { 0x0A, 5, (byte)'a' })]
    [InlineData(new byte[] { 0x0B })]
    [InlineData(new byte[] { 0x1D, 1, 2 })]
    [InlineData(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80 })]
    public void TryDecodeRequest_Malformed_ReturnsFalse(byte[] bytes) =>
        Assert.False(HealthService.TryDecodeRequest(new ReadOnlySequence<byte>(bytes), out _));

    [Fact]
    public async Task WaitForChangeAsync_StatusSet_Completes()
    {
        var registry = HealthStatusRegistry.ForEndpointPicker();
        var wait = registry.WaitForChangeAsync(CancellationToken.None);
        Assert.False(wait.IsCompleted);
        registry.Set(HealthStatusRegistry.Readiness, ServingStatus.Serving);
        await wait.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(ServingStatus.Serving, registry.Get(HealthStatusRegistry.Readiness));
        Assert.Equal(ServingStatus.ServiceUnknown, registry.Get("nope"));
    }
}
