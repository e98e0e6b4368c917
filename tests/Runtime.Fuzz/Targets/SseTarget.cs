using System.Buffers;
using Runtime.BodyParsing;

namespace Runtime.Fuzz.Targets;

/// <summary>
/// The SSE reader of streamed responses (the last <c>data:</c> event, then its token usage).
/// Invariants: nothing throws; the event found does not depend on how the stream was chunked
/// (a body sent whole and the same body in small chunks give the same last event and usage).
/// </summary>
internal static class SseTarget
{
    private static readonly SseTail s_whole = new();
    private static readonly SseTail s_chunked = new();
    private static readonly TokenUsageReader s_usage = new();

    public static void Run(byte[] input)
    {
        s_whole.Reset();
        s_chunked.Reset();
        s_whole.Append(new ReadOnlySequence<byte>(input));
        foreach (var chunk in Segments.Chunks(input))
        {
            s_chunked.Append(new ReadOnlySequence<byte>(chunk));
        }

        var whole = s_whole.LastEventJson().ToArray();
        var chunked = s_chunked.LastEventJson().ToArray();
        FuzzAssert.True(whole.AsSpan().SequenceEqual(chunked), $"the last event depends on chunking: '{System.Text.Encoding.UTF8.GetString(whole)}' vs '{System.Text.Encoding.UTF8.GetString(chunked)}'");
        var found = s_usage.TryRead(new ReadOnlySequence<byte>(whole), out var usage);
        var foundChunked = s_usage.TryRead(Segments.Split(chunked), out var usageChunked);
        FuzzAssert.True(found == foundChunked && usage == usageChunked, "usage depends on segmentation");
    }
}
