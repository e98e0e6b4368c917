using System.Buffers;
using Google.Protobuf;
using Runtime.Transport.Health;
using Xunit;
using Oracle = Runtime.Proto.Grpc.Health.V1;

namespace Runtime.Transport.Tests.Health;

public class HealthMessagesTests
{
    [Fact]
    public void TryDecodeCheckRequest_ServiceAndUnknownFields_ReadsService()
    {
        // field 1 "abc", unknown varint field 2 = 150, unknown fixed32 field 3
        byte[] bytes = [0x0A, 3, (byte)'a', (byte)'b', (byte)'c', 0x10, 0x96, 0x01, 0x1D, 1, 2, 3, 4];
        Assert.True(HealthMessages.TryDecodeCheckRequest(new ReadOnlySequence<byte>(bytes), out var service));
        Assert.Equal("abc", service);
    }

    [Fact]
    public void TryDecodeCheckRequest_Empty_IsOverallServer()
    {
        Assert.True(HealthMessages.TryDecodeCheckRequest(ReadOnlySequence<byte>.Empty, out var service));
        Assert.Equal(string.Empty, service);
    }

    [Theory]
    [InlineData(new byte[] { 0x0A, 5, (byte)'a' })]
    [InlineData(new byte[] { 0x0B })]
    [InlineData(new byte[] { 0x1D, 1, 2 })]
    [InlineData(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80 })]
    public void TryDecodeCheckRequest_Malformed_ReturnsFalse(byte[] bytes) =>
        Assert.False(HealthMessages.TryDecodeCheckRequest(new ReadOnlySequence<byte>(bytes), out _));

    [Fact]
    public void EncodeCheckRequest_ParsesWithGoogleProtobuf()
    {
        var parsed = Oracle.HealthCheckRequest.Parser.ParseFrom(HealthMessages.EncodeCheckRequest("inference-extension"));

        Assert.Equal("inference-extension", parsed.Service);
    }

    [Theory]
    [InlineData(ServingStatus.Unknown)]
    [InlineData(ServingStatus.Serving)]
    [InlineData(ServingStatus.NotServing)]
    [InlineData(ServingStatus.ServiceUnknown)]
    public void EncodeStatus_RoundTripsThroughGoogleProtobuf(ServingStatus status)
    {
        var parsed = Oracle.HealthCheckResponse.Parser.ParseFrom(HealthMessages.EncodeStatus(status));

        Assert.Equal((int)status, (int)parsed.Status);
        Assert.Equal(status, HealthMessages.DecodeStatus(new ReadOnlySequence<byte>(parsed.ToByteArray())));
    }

    [Fact]
    public void EncodeList_ParsesWithGoogleProtobuf()
    {
        var bytes = HealthMessages.EncodeList([new("", ServingStatus.Serving), new(HealthState.ExtProcService, ServingStatus.NotServing), new("x", ServingStatus.Unknown)]);

        var parsed = Oracle.HealthListResponse.Parser.ParseFrom(bytes);

        Assert.Equal(3, parsed.Statuses.Count);
        Assert.Equal(Oracle.HealthCheckResponse.Types.ServingStatus.Serving, parsed.Statuses[""].Status);
        Assert.Equal(Oracle.HealthCheckResponse.Types.ServingStatus.NotServing, parsed.Statuses[HealthState.ExtProcService].Status);
        Assert.Equal(Oracle.HealthCheckResponse.Types.ServingStatus.Unknown, parsed.Statuses["x"].Status);
    }
}
