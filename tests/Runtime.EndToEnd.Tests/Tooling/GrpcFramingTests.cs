using Google.Protobuf;

namespace Runtime.EndToEnd.Tests.Tooling;

[Trait("Category", "Tooling")]
public sealed class GrpcFramingTests
{
    [Fact]
    public void Encode_Message_PrefixHoldsFlagAndBigEndianLength()
    {
        var message = ExtProcMessages.RequestBody(new byte[300], endOfStream: true);

        var frame = GrpcFraming.Encode(message);

        Assert.Equal(0, frame[0]);
        Assert.Equal(message.CalculateSize(), (frame[1] << 24) | (frame[2] << 16) | (frame[3] << 8) | frame[4]);
        Assert.Equal(message, ProcessingRequest.Parser.ParseFrom(frame.AsSpan(5)));
    }

    [Fact]
    public void DecodeAll_ConcatenatedFrames_ReturnsEach()
    {
        var data = GrpcFraming.Concat(GrpcFraming.Encode("a"u8), GrpcFraming.Encode(ReadOnlySpan<byte>.Empty), GrpcFraming.Encode("bc"u8, flag: 1));

        var frames = GrpcFraming.DecodeAll(data);

        Assert.Equal(["a", "", "bc"], frames.Select(f => System.Text.Encoding.ASCII.GetString(f.Payload.Span)));
        Assert.Equal([false, false, true], frames.Select(f => f.IsCompressed));
    }

    [Fact]
    public void DecodeAll_TruncatedPayload_Throws()
    {
        Assert.Throws<InvalidDataException>(() => GrpcFraming.DecodeAll(MalformedGrpcInput.TruncatedPayload(ExtProcMessages.FullDuplexRequestHeaders())));
    }

    [Fact]
    public void DecodeAll_TruncatedPrefix_Throws()
    {
        Assert.Throws<InvalidDataException>(() => GrpcFraming.DecodeAll(MalformedGrpcInput.TruncatedPrefix()));
    }

    /// <summary>Oracle: each garbage payload the bad-input tests send is rejected by Google.Protobuf.</summary>
    [Theory]
    [MemberData(nameof(MalformedGrpcInput.GarbagePayloadNames), MemberType = typeof(MalformedGrpcInput))]
    public void GarbagePayload_ParsedByGoogleProtobuf_IsRejected(string name)
    {
        var payload = MalformedGrpcInput.GarbagePayloads[name];

        Assert.Throws<InvalidProtocolBufferException>(() => ProcessingRequest.Parser.ParseFrom(payload));
    }

    [Fact]
    public void OversizeLengthPrefix_DeclaresLengthButCarriesTwoBytes()
    {
        var frame = MalformedGrpcInput.OversizeLengthPrefix(0x7FFF_FFFF);

        Assert.Equal(7, frame.Length);
        Assert.Equal([0x00, 0x7F, 0xFF, 0xFF, 0xFF], frame[..5]);
    }
}
