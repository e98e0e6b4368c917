using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Grpc.Core;
using Runtime.ExtProc.Stream;

namespace Runtime.ExtProc.Tests.Stream;

/// <summary>gRPC messages read straight off a request body pipe, however the bytes arrive.</summary>
public class PipeRequestMessagesTests
{
    private const int MaxMessageSize = 1 << 20;

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(4096)]
    [InlineData(1 << 20)]
    public async Task Messages_SplitAnywhere_ComeOutWhole(int chunkBytes)
    {
        byte[][] messages = [[], Filled(10, 1), Filled(100_000, 2), Filled(5, 3)];
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, minimumSegmentSize: 4096));
        var writing = WriteInChunksAsync(pipe.Writer, Frames(messages), chunkBytes);
        var reader = Start(pipe.Reader);

        foreach (var expected in messages)
        {
            Assert.True(await reader.MoveNextAsync());
            Assert.Equal(expected, reader.Current.ToArray());
        }

        Assert.False(await reader.MoveNextAsync());
        await writing;
    }

    [Fact]
    public async Task HeldMessage_IsNotConsumedUntilReleased()
    {
        // A writer that may run 100 bytes ahead: the held message keeps it waiting (back-pressure
        // on Envoy while a phase is in progress), releasing it lets the writer go on.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 100, resumeWriterThreshold: 50));
        var reader = Start(pipe.Reader);
        await pipe.Writer.WriteAsync(Frames([Filled(90, 1)]));

        Assert.True(await reader.MoveNextAsync());
        var blocked = pipe.Writer.WriteAsync(Frames([Filled(40, 2)]));
        await Task.Delay(50);
        Assert.False(blocked.IsCompleted);
        Assert.Equal(Filled(90, 1), reader.Current.ToArray());

        reader.Release();
        await blocked.AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(await reader.MoveNextAsync());
        Assert.Equal(Filled(40, 2), reader.Current.ToArray());
    }

    [Fact]
    public async Task Release_Twice_AdvancesOnce()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Frames([Filled(3, 1), Filled(4, 2)]));
        await pipe.Writer.CompleteAsync();
        var reader = Start(pipe.Reader);

        Assert.True(await reader.MoveNextAsync());
        reader.Release();
        reader.Release();
        Assert.True(await reader.MoveNextAsync());
        Assert.Equal(Filled(4, 2), reader.Current.ToArray());
        Assert.False(await reader.MoveNextAsync());
    }

    [Theory]
    [InlineData(10)] // the payload is cut short
    [InlineData(3)]  // the length prefix is cut short
    public async Task StreamEndsInsideAMessage_Internal(int bytesKept)
    {
        var pipe = new Pipe();
        var frame = Frames([Filled(20, 1)]);
        await pipe.Writer.WriteAsync(frame.AsMemory(0, bytesKept));
        await pipe.Writer.CompleteAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => Start(pipe.Reader).MoveNextAsync().AsTask());

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Equal("Incomplete message.", error.Status.Detail);
    }

    [Theory]
    [InlineData(1, "Request did not include grpc-encoding value with compressed message.")]
    [InlineData(2, "Malformed message: Unexpected compressed flag value in message header.")]
    public async Task CompressedFlag_WithoutEncoding_Internal(byte flag, string detail)
    {
        var pipe = new Pipe();
        var frame = Frames([Filled(20, 1)]);
        frame[0] = flag;
        await pipe.Writer.WriteAsync(frame);

        var error = await Assert.ThrowsAsync<RpcException>(() => Start(pipe.Reader).MoveNextAsync().AsTask());

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Equal(detail, error.Status.Detail);
    }

    [Theory]
    [InlineData(MaxMessageSize + 1u)]
    [InlineData(0x7FFF_FFFFu)]
    [InlineData(0xFFFF_FFFFu)]
    public async Task LengthPrefixPastTheLimit_ResourceExhausted_WithoutWaitingForThePayload(uint declared)
    {
        var pipe = new Pipe();
        var header = new byte[7];
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), declared);
        await pipe.Writer.WriteAsync(header);

        var error = await Assert.ThrowsAsync<RpcException>(() => Start(pipe.Reader).MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task ResetRequestStream_Cancelled()
    {
        var pipe = new Pipe();
        var reader = Start(pipe.Reader);
        var next = reader.MoveNextAsync().AsTask();
        await pipe.Writer.CompleteAsync(new IOException("The client reset the request stream."));

        var error = await Assert.ThrowsAsync<RpcException>(() => next);

        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
    }

    private static PipeRequestMessages Start(PipeReader pipe)
    {
        var reader = new PipeRequestMessages();
        reader.Start(pipe, MaxMessageSize);
        return reader;
    }

    private static byte[] Filled(int length, byte value) => Enumerable.Repeat(value, length).ToArray();

    private static byte[] Frames(byte[][] messages)
    {
        var frames = new ArrayBufferWriter<byte>();
        foreach (var message in messages)
        {
            var header = frames.GetSpan(5);
            header[0] = 0;
            BinaryPrimitives.WriteUInt32BigEndian(header[1..], (uint)message.Length);
            frames.Advance(5);
            frames.Write(message);
        }

        return frames.WrittenSpan.ToArray();
    }

    private static async Task WriteInChunksAsync(PipeWriter writer, byte[] bytes, int chunkBytes)
    {
        for (var offset = 0; offset < bytes.Length; offset += chunkBytes)
        {
            await writer.WriteAsync(bytes.AsMemory(offset, Math.Min(chunkBytes, bytes.Length - offset)));
        }

        await writer.CompleteAsync();
    }
}
