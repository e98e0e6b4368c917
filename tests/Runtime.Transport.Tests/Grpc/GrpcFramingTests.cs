using System.Buffers;
using Runtime.Transport.Grpc;
using Xunit;

namespace Runtime.Transport.Tests.Grpc;

public class GrpcFramingTests
{
    private static byte[] Frame(byte flag, uint length, int payloadBytes)
    {
        var bytes = new byte[5 + payloadBytes];
        bytes[0] = flag;
        bytes[1] = (byte)(length >> 24);
        bytes[2] = (byte)(length >> 16);
        bytes[3] = (byte)(length >> 8);
        bytes[4] = (byte)length;
        for (var i = 0; i < payloadBytes; i++)
        {
            bytes[5 + i] = (byte)(i + 1);
        }

        return bytes;
    }

    [Fact]
    public void TryReadMessage_TwoFramesSplitIntoOneByteSegments_ReturnsBothInOrder()
    {
        var bytes = Frame(0, 3, 3).Concat(Frame(0, 0, 0)).ToArray();
        var buffer = TestSequence.Split(bytes, 1);

        Assert.True(GrpcFraming.TryReadMessage(ref buffer, 100, out var first));
        Assert.Equal(new byte[] { 1, 2, 3 }, first.ToArray());
        Assert.True(GrpcFraming.TryReadMessage(ref buffer, 100, out var second));
        Assert.True(second.IsEmpty);
        Assert.True(buffer.IsEmpty);
        Assert.False(GrpcFraming.TryReadMessage(ref buffer, 100, out _));
    }

    [Fact]
    public void TryReadMessage_IncompletePayload_NeedsMoreAndLeavesBufferUntouched()
    {
        var buffer = new ReadOnlySequence<byte>(Frame(0, 10, 4));
        var before = buffer.Length;
        Assert.False(GrpcFraming.TryReadMessage(ref buffer, 100, out _));
        Assert.Equal(before, buffer.Length);
    }

    [Fact]
    public void TryReadMessage_PrefixOverLimit_ThrowsResourceExhaustedBeforePayloadArrives()
    {
        var buffer = new ReadOnlySequence<byte>(Frame(0, 1_000_000, 0));
        var ex = Assert.Throws<GrpcException>(() => GrpcFraming.TryReadMessage(ref buffer, 1000, out _));
        Assert.Equal(GrpcStatusCode.ResourceExhausted, ex.Status);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void TryReadMessage_CompressedOrInvalidFlag_ThrowsUnimplemented(byte flag)
    {
        var buffer = new ReadOnlySequence<byte>(Frame(flag, 2, 2));
        var ex = Assert.Throws<GrpcException>(() => GrpcFraming.TryReadMessage(ref buffer, 100, out _));
        Assert.Equal(GrpcStatusCode.Unimplemented, ex.Status);
    }

    [Fact]
    public void WriteHeader_WritesFlagAndBigEndianLength()
    {
        var writer = new ArrayBufferWriter<byte>();
        GrpcFraming.WriteHeader(writer, 0x01020304);
        Assert.Equal(new byte[] { 0, 1, 2, 3, 4 }, writer.WrittenSpan.ToArray());
    }
}

internal static class TestSequence
{
    public static ReadOnlySequence<byte> Split(byte[] bytes, int segmentSize)
    {
        Segment? first = null;
        Segment? last = null;
        for (var i = 0; i < bytes.Length; i += segmentSize)
        {
            var memory = bytes.AsMemory(i, Math.Min(segmentSize, bytes.Length - i));
            var next = new Segment(memory, last is null ? 0 : last.RunningIndex + last.Memory.Length);
            if (last is null)
            {
                first = next;
            }
            else
            {
                last.SetNext(next);
            }

            last = next;
        }

        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
