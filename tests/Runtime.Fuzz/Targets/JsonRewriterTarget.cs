using System.Buffers;
using System.Text.Json;
using Runtime.BodyParsing;

namespace Runtime.Fuzz.Targets;

/// <summary>
/// The request-body rewriter (model rewrite, field removal, added fields) on whatever body the
/// scanner accepts. Invariants: the output is valid JSON, as long as announced, and a fresh scan
/// of it sees the new model, the removed field gone (unless an earlier duplicate remains) and the
/// added property; writing to a buffer writer and copying to a span give the same bytes.
/// </summary>
internal static class JsonRewriterTarget
{
    private static readonly JsonFieldSet s_fields = new("model", "stream", "max_tokens", "x-fuzz-added");
    private static readonly JsonBodyScanner s_scanner = new(s_fields);
    private static readonly JsonBodyScanner s_rescan = new(s_fields);
    private static readonly JsonBodyRewriter s_rewriter = new();

    public static void Run(byte[] input)
    {
        if (s_scanner.Scan(Segments.Split(input)) != JsonBodyStatus.Ok)
        {
            return;
        }

        s_rewriter.Begin(s_scanner);
        // The new model takes bytes from the input so escaping paths are exercised too.
        var model = input.AsSpan(0, Math.Min(input.Length, 12));
        var modelPresent = s_scanner[0].IsPresent;
        var replaced = s_rewriter.ReplaceWithString(0, model);
        FuzzAssert.True(!modelPresent || replaced == System.Text.Unicode.Utf8.IsValid(model), "ReplaceWithString refused a present field with a UTF-8 value");
        var streamOccurrences = s_scanner[1].Occurrences;
        var removed = s_rewriter.Remove(1);
        FuzzAssert.True(removed == s_scanner[1].IsPresent, "Remove disagrees with presence");
        s_rewriter.ReplaceValue(2, "{\"nested\":[1,2,3]}"u8);
        var added = s_rewriter.AddString("x-fuzz-added"u8, "yes"u8);
        FuzzAssert.True(added == !s_scanner[3].IsPresent, "AddString disagrees with presence");

        var writer = new ArrayBufferWriter<byte>();
        s_rewriter.WriteTo(writer);
        var output = writer.WrittenSpan.ToArray();
        FuzzAssert.True(output.Length == s_rewriter.OutputLength, $"wrote {output.Length} bytes, announced {s_rewriter.OutputLength}");
        var copy = new byte[output.Length];
        FuzzAssert.True(s_rewriter.CopyTo(copy) == output.Length && copy.AsSpan().SequenceEqual(output), "CopyTo differs from WriteTo");

        try
        {
            JsonDocument.Parse(output).Dispose();
        }
        catch (JsonException ex)
        {
            throw new FuzzInvariantException($"the rewritten body is not JSON ({ex.Message})");
        }

        FuzzAssert.True(s_rescan.Scan(new ReadOnlySequence<byte>(output)) == JsonBodyStatus.Ok, $"the rewritten body scans as {s_rescan.Status}");
        if (replaced)
        {
            FuzzAssert.True(s_rescan.ValueEquals(0, model), "the rewritten body lost the new model");
        }

        if (removed)
        {
            FuzzAssert.True(s_rescan[1].Occurrences == streamOccurrences - 1, "the removed field is still there");
        }

        if (added)
        {
            FuzzAssert.True(s_rescan.ValueEquals(3, "yes"u8), "the added property is missing");
        }
        s_rewriter.Reset();
    }
}
