using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Runtime.EndpointPicker.Requests;

namespace Runtime.EndpointPicker.Tests;

public class VllmGrpcRequestParserTests
{
    private static byte[] Frame(params byte[] message)
    {
        var frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    private static byte[] Field(int number, string text) => [(byte)((number << 3) | 2), (byte)text.Length, .. Encoding.UTF8.GetBytes(text)];

    private static byte[] Field(int number, byte[] nested) => [(byte)((number << 3) | 2), (byte)nested.Length, .. nested];

    private static readonly byte[] s_generate = Encoding.ASCII.GetBytes("/vllm.grpc.engine.VllmEngine/Generate");
    private static readonly byte[] s_embed = Encoding.ASCII.GetBytes("/vllm.grpc.engine.VllmEngine/Embed");

    [Fact]
    public void TryParse_GenerateWithText_PromptAndStream()
    {
        var parser = new VllmGrpcRequestParser();
        byte[] message = [.. Field(1, "r1"), .. Field(3, "hello world"), 0x28, 0x01];

        Assert.True(parser.TryParse(s_generate, new ReadOnlySequence<byte>(Frame(message)), out var error), error);

        Assert.Equal("hello world", Encoding.UTF8.GetString(parser.Prompt.ToArray()));
        Assert.True(parser.IsStreaming);
        Assert.False(parser.IsEmbed);
    }

    [Fact]
    public void TryParse_EmbedWithTokenizedInput_OriginalTextIsThePrompt()
    {
        var parser = new VllmGrpcRequestParser();
        byte[] message = [.. Field(1, "r2"), .. Field(2, [.. Field(1, "embed me"), 0x12, 0x02, 0x05, 0x06])];

        Assert.True(parser.TryParse(s_embed, new ReadOnlySequence<byte>(Frame(message)), out var error), error);

        Assert.Equal("embed me", Encoding.UTF8.GetString(parser.Prompt.ToArray()));
        Assert.True(parser.IsEmbed);
    }

    [Theory]
    [InlineData("/v1/chat/completions", new byte[] { 0, 0, 0, 0, 0 }, "unsupported gRPC path")]
    [InlineData("/vllm.grpc.engine.VllmEngine/Generate", new byte[] { 1, 0, 0, 0, 0 }, "compressed vllmgrpc payload is not supported")]
    [InlineData("/vllm.grpc.engine.VllmEngine/Generate", new byte[] { 0, 0, 0, 0, 9, 1 }, "incomplete gRPC payload")]
    [InlineData("/vllm.grpc.engine.VllmEngine/Generate", new byte[] { 0, 0, 0, 0, 4, 0x0A, 0x02, 0x61, 0x62 }, "not supported request inputType")]
    public void TryParse_BadRequest_ErrorForA400(string path, byte[] body, string expected)
    {
        Assert.False(new VllmGrpcRequestParser().TryParse(Encoding.ASCII.GetBytes(path), new ReadOnlySequence<byte>(body), out var error));
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryReadUsage_StreamOfChunks_LastReportingFrameWins()
    {
        byte[] first = Frame(Field(1, [0x0A, 0x01, 0x07]));
        byte[] last = Frame(Field(2, [0x18, 0x0B, 0x20, 0x1F, 0x28, 0x04]));

        Assert.True(VllmGrpcRequestParser.TryReadUsage(new ReadOnlySequence<byte>([.. first, .. last]), embed: false, out var usage));

        Assert.Equal((11, 31, 4), (usage.PromptTokens, usage.CompletionTokens, usage.CachedPromptTokens));
    }
}
