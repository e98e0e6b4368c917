using System.Buffers;
using Runtime.Primitives.Wire;

namespace Runtime.Primitives.Tests.Wire;

public sealed class WireFormatTests
{
    [Theory]
    [InlineData(0UL)]
    [InlineData(1UL)]
    [InlineData(127UL)]
    [InlineData(128UL)]
    [InlineData(300UL)]
    [InlineData(16_383UL)]
    [InlineData(16_384UL)]
    [InlineData(uint.MaxValue)]
    [InlineData(ulong.MaxValue)]
    public void WriteVarint_ThenDecode_RoundTripsWithTheSizeItPredicts(ulong value)
    {
        Span<byte> buffer = stackalloc byte[WireFormat.MaxVarintLength];

        var written = WireFormat.WriteVarint(buffer, value);

        Assert.Equal(WireFormat.VarintSize(value), written);
        Assert.Equal(written, WireFormat.TryDecodeVarint(buffer[..written], out var decoded));
        Assert.Equal(value, decoded);
    }

    [Fact]
    public void TryDecodeVarint_EndsInsideTheVarint_ReturnsZero()
    {
        Assert.Equal(0, WireFormat.TryDecodeVarint([0x80, 0x80], out _));
        Assert.Equal(0, WireFormat.TryDecodeVarint([], out _));
    }

    [Fact]
    public void TryDecodeVarint_LongerThanTenBytes_ReturnsMinusOne()
    {
        byte[] eleven = [.. Enumerable.Repeat((byte)0xFF, 10), 0x01];

        Assert.Equal(-1, WireFormat.TryDecodeVarint(eleven, out _));
    }

    [Fact]
    public void TryReadVarint_MovesPastTheVarintOnlyOnSuccess()
    {
        byte[] bytes = [0x05, 0xAC, 0x02, 0x80];
        var position = 1;

        Assert.True(WireFormat.TryReadVarint(bytes, ref position, out var value));
        Assert.Equal(300UL, value);
        Assert.Equal(3, position);

        Assert.False(WireFormat.TryReadVarint(bytes, ref position, out _));
        Assert.Equal(3, position);
    }

    [Fact]
    public void TryReadField_WalksEveryWireTypeOfAMessage()
    {
        // field 1 varint 150, field 2 "hi", field 3 fixed64, field 4 fixed32, field 5 varint 1
        byte[] message = [0x08, 0x96, 0x01, 0x12, 0x02, (byte)'h', (byte)'i', 0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x25, 1, 2, 3, 4, 0x28, 0x01];
        var seen = new List<(int Field, int Wire, ulong Varint, string Payload)>();
        var position = 0;

        while (WireFormat.TryReadField(message, ref position, out var field, out var wire, out var payload, out var varint))
        {
            seen.Add((field, wire, varint, System.Text.Encoding.ASCII.GetString(message, payload.Start, payload.Length)));
        }

        Assert.Equal(message.Length, position);
        Assert.Equal(
            [(1, WireFormat.WireTypeVarint, 150UL, ""), (2, WireFormat.WireTypeLengthDelimited, 0UL, "hi"), (3, WireFormat.WireTypeFixed64, 0UL, ""), (4, WireFormat.WireTypeFixed32, 0UL, ""), (5, WireFormat.WireTypeVarint, 1UL, "")],
            seen);
    }

    [Theory]
    [InlineData(new byte[] { 0x00, 0x01 })]                // field number 0
    [InlineData(new byte[] { 0x12, 0x05, 0x61 })]          // length past the end
    [InlineData(new byte[] { 0x19, 0x01, 0x02 })]          // truncated fixed64
    [InlineData(new byte[] { 0x25, 0x01 })]                // truncated fixed32
    [InlineData(new byte[] { 0x0B })]                      // start group
    [InlineData(new byte[] { 0x0E })]                      // wire type 6
    [InlineData(new byte[] { 0x08, 0x80 })]                // truncated varint value
    public void TryReadField_MalformedBytes_FalseAndPositionUnchanged(byte[] message)
    {
        var position = 0;

        Assert.False(WireFormat.TryReadField(message, ref position, out _, out _, out _, out _));
        Assert.Equal(0, position);
    }

    [Fact]
    public void WriteTagAndVarint_ToABufferWriter_ProduceTheProtobufEncoding()
    {
        var writer = new ArrayBufferWriter<byte>();

        WireFormat.WriteTag(writer, 2, WireFormat.WireTypeLengthDelimited);
        WireFormat.WriteVarint(writer, 300);

        Assert.Equal(new byte[] { 0x12, 0xAC, 0x02 }, writer.WrittenSpan.ToArray());
    }
}
