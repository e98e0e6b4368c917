using System.Buffers;
using Runtime.EndpointPicker.Requests;

namespace Runtime.Fuzz.Targets;

/// <summary>
/// gRPC framing (1-byte flag, 4-byte big-endian length, message) of the vLLM gRPC engine API
/// as the <c>vllmgrpc-parser</c> reads it: request frames for Generate and Embed, response frames
/// for token usage. Invariants: nothing throws; one segment or many give the same answer; a
/// rejection has a 400 text; the prompt found lies inside the frame.
/// </summary>
internal static class GrpcFrameTarget
{
    private static readonly VllmGrpcRequestParser s_single = new();
    private static readonly VllmGrpcRequestParser s_split = new();

    public static void Run(byte[] input)
    {
        foreach (var path in new[] { VllmGrpcRequestParser.GeneratePath.ToArray(), VllmGrpcRequestParser.EmbedPath.ToArray() })
        {
            var ok = s_single.TryParse(path, new ReadOnlySequence<byte>(input), out var error);
            var okSplit = s_split.TryParse(path, Segments.Split(input), out var errorSplit);
            FuzzAssert.True(ok == okSplit && error == errorSplit, $"one segment and many disagree: {ok} '{error}' vs {okSplit} '{errorSplit}'");
            if (!ok)
            {
                FuzzAssert.True(error.Length > 0, "a rejected frame has no error text");
                continue;
            }

            FuzzAssert.True(s_single.Prompt.Length <= input.Length - 5, "the prompt is longer than the frame");
            FuzzAssert.True(s_single.Prompt.ToArray().AsSpan().SequenceEqual(s_split.Prompt.ToArray()), "prompts differ");
            FuzzAssert.True(s_single.IsStreaming == s_split.IsStreaming, "stream flags differ");
        }

        foreach (var embed in new[] { false, true })
        {
            var found = VllmGrpcRequestParser.TryReadUsage(new ReadOnlySequence<byte>(input), embed, out var usage);
            var foundSplit = VllmGrpcRequestParser.TryReadUsage(Segments.Split(input), embed, out var usageSplit);
            FuzzAssert.True(found == foundSplit && usage == usageSplit, "usage differs between one segment and many");
        }
    }
}
