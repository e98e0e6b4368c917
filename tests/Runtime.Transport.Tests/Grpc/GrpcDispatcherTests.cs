using Runtime.Transport.Grpc;
using Xunit;

namespace Runtime.Transport.Tests.Grpc;

public class GrpcDispatcherTests
{
    [Theory]
    [InlineData("plain message", "plain message")]
    [InlineData("100%", "100%25")]
    [InlineData("line\nbreak", "line%0Abreak")]
    [InlineData("café", "caf%C3%A9")]
    public void PercentEncode_NonPrintableAndPercent_AreEncodedAsUtf8(string message, string expected) =>
        Assert.Equal(expected, GrpcDispatcher.PercentEncode(message));
}
