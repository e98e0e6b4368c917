using Runtime.Transport.Grpc;
using Xunit;

namespace Runtime.Transport.Tests.Grpc;

public class GrpcTimeoutTests
{
    [Theory]
    [InlineData("1H", 3600_000)]
    [InlineData("2M", 120_000)]
    [InlineData("3S", 3_000)]
    [InlineData("200m", 200)]
    [InlineData("5000u", 5)]
    [InlineData("7000000n", 7)]
    [InlineData("99999999m", 99_999_999)]
    public void TryParse_ValidUnits_ReturnsDuration(string header, long expectedMs)
    {
        Assert.True(GrpcTimeout.TryParse(header, out var timeout));
        Assert.Equal(expectedMs, (long)timeout.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("10x")]
    [InlineData("-1S")]
    [InlineData("123456789S")]
    [InlineData("1.5S")]
    public void TryParse_Malformed_ReturnsFalse(string header) =>
        Assert.False(GrpcTimeout.TryParse(header, out _));
}
