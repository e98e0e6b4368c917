using System.Buffers;
using System.Text;
using System.Text.Json;
using Runtime.ExtProc.Buffers;

namespace Runtime.BodyParsing.Tests;

public class JsonBodyRewriterTests
{
    private static readonly JsonFieldSet s_fields = new(TestBodies.KnownNames);
    private const int Model = 0;
    private const int Stream = 1;
    private const int Messages = 2;

    [Theory]
    [InlineData("""{"model":"a","stream":true,"messages":[]}""", """{"stream":true,"messages":[]}""")]   // first
    [InlineData("""{"stream":true,"model":"a","messages":[]}""", """{"stream":true,"messages":[]}""")]   // middle
    [InlineData("""{"stream":true,"messages":[],"model":"a"}""", """{"stream":true,"messages":[]}""")]   // last
    [InlineData("""{"model":"a"}""", """{}""")]                                                          // only
    [InlineData("""{ "model" : "a" , "stream":true }""", """{ "stream":true }""")]
    [InlineData("""{ "stream":true ,  "model" : "a"  }""", """{ "stream":true  }""")]
    [InlineData("""{ "model" : "a" }""", """{  }""")]
    public void Remove_AnyPosition_KeepsCommasRight(string original, string expected)
    {
        Assert.Equal(expected, Rewrite(original, rewriter => Assert.True(rewriter.Remove(Model))));
    }

    [Theory]
    [InlineData("""{"model":"a","stream":true,"messages":[],"x":1}""", """{"x":1}""")]           // leading run
    [InlineData("""{"x":1,"model":"a","stream":true,"messages":[]}""", """{"x":1}""")]           // trailing run
    [InlineData("""{"model":"a","x":1,"stream":true}""", """{"x":1}""")]                         // first and last
    [InlineData("""{"model":"a","stream":true,"messages":[]}""", """{}""")]                      // everything
    [InlineData("""{"stream":true,"x":1,"model":"a","y":2,"messages":[]}""", """{"x":1,"y":2}""")]
    public void Remove_SeveralProperties_KeepsCommasRight(string original, string expected)
    {
        Assert.Equal(expected, Rewrite(original, rewriter =>
        {
            rewriter.Remove(Model);
            rewriter.Remove(Stream);
            rewriter.Remove(Messages);
        }));
    }

    [Theory]
    [InlineData("""{"model":"a","x":1}""", """{"model":"llama-3-70b","x":1}""")]
    [InlineData("""{"x":1 , "model" :"a"  }""", """{"x":1 , "model" :"llama-3-70b"  }""")]
    [InlineData("""{"model":{"deep":["a"]}}""", """{"model":"llama-3-70b"}""")]
    public void ReplaceWithString_ModelAnywhere_ChangesOnlyTheValue(string original, string expected)
    {
        Assert.Equal(expected, Rewrite(original, rewriter => Assert.True(rewriter.ReplaceWithString(Model, "llama-3-70b"u8))));
    }

    [Fact]
    public void ReplaceWithString_TextNeedingEscapes_WritesValidJson()
    {
        var text = "q\"b\\s\n\t\u0001é😀";
        var output = Rewrite("""{"model":"a"}""", rewriter => Assert.True(rewriter.ReplaceWithString(Model, Encoding.UTF8.GetBytes(text))));

        Assert.Equal("{\"model\":\"q\\\"b\\\\s\\n\\t\\u0001é😀\"}", output);
        using var document = JsonDocument.Parse(output);
        Assert.Equal(text, document.RootElement.GetProperty("model").GetString());
    }

    [Theory]
    [InlineData("""{}""", """{"extra":1}""")]
    [InlineData("""{ }""", """{ "extra":1}""")]
    [InlineData("""{"x":1}""", """{"x":1,"extra":1}""")]
    [InlineData("""{"x":1 }""", """{"x":1,"extra":1 }""")]
    public void Add_EmptyOrNot_PlacesPropertyAtTheEnd(string original, string expected)
    {
        Assert.Equal(expected, Rewrite(original, rewriter => Assert.True(rewriter.Add("extra"u8, "1"u8))));
    }

    [Theory]
    [InlineData("""{"model":"a"}""", """{"b":"x","c":[1]}""")]
    [InlineData("""{"x":1,"model":"a"}""", """{"x":1,"b":"x","c":[1]}""")]
    [InlineData("""{"model":"a","x":1}""", """{"x":1,"b":"x","c":[1]}""")]
    public void Add_AfterRemovals_SeparatesOnlyKeptProperties(string original, string expected)
    {
        Assert.Equal(expected, Rewrite(original, rewriter =>
        {
            Assert.True(rewriter.AddString("b"u8, "x"u8));
            Assert.True(rewriter.Remove(Model));
            Assert.True(rewriter.Add("c"u8, "[1]"u8));
        }));
    }

    [Fact]
    public void Edits_Rejected_WhenTheyWouldBreakTheBody()
    {
        using var rewriter = new JsonBodyRewriter();
        var scanner = Scanned("""{"model":"a"}""");
        rewriter.Begin(scanner);

        Assert.False(rewriter.ReplaceValue(Model, "{"u8));          // not one JSON value
        Assert.False(rewriter.ReplaceValue(Model, "1 2"u8));
        Assert.False(rewriter.ReplaceValue(Stream, "true"u8));      // absent: add it instead
        Assert.False(rewriter.Remove(Stream));
        Assert.False(rewriter.Add("model"u8, "1"u8));               // present: replace it instead
        Assert.False(rewriter.ReplaceWithString(Model, [0xFF]));    // not UTF-8
        Assert.False(rewriter.HasChanges);
        Assert.Equal(scanner.Body.Length, rewriter.OutputLength);

        Assert.True(rewriter.Remove(Model));
        Assert.False(rewriter.ReplaceWithString(Model, "b"u8));     // removed
        Assert.True(rewriter.Add("model"u8, "1"u8));                // now absent
    }

    [Fact]
    public void Begin_FailedScan_Throws()
    {
        var scanner = new JsonBodyScanner(s_fields);
        scanner.Scan(new ReadOnlySequence<byte>("[1]"u8.ToArray()));
        using var rewriter = new JsonBodyRewriter();

        Assert.Throws<InvalidOperationException>(() => rewriter.Begin(scanner));
    }

    [Fact]
    public void WriteTo_BodyBufferSink_ProducesPooledMultiSegmentBody()
    {
        var original = "{\"messages\":[\"" + new string('x', 100_000) + "\"],\"model\":\"a\"}";
        var scanner = Scanned(original, segmentSize: 7000);
        using var rewriter = new JsonBodyRewriter();
        rewriter.Begin(scanner);
        rewriter.ReplaceWithString(Model, "bb"u8);
        var output = new BodyBuffer();
        var sink = new BodyBufferSink(output);

        rewriter.WriteTo(ref sink);

        Assert.Equal(rewriter.OutputLength, output.Length);
        Assert.Equal(original.Replace("\"a\"", "\"bb\"", StringComparison.Ordinal), Encoding.UTF8.GetString(output.AsSequence().ToArray()));
        output.Reset();
    }

    [Fact]
    public void Rewrite_RandomBodiesAndEdits_MatchExpectedDocumentAndKeepOtherBytes()
    {
        var random = new Random(2024);
        var scanner = new JsonBodyScanner(s_fields);
        using var rewriter = new JsonBodyRewriter();
        var writer = new ArrayBufferWriter<byte>();
        for (var iteration = 0; iteration < 3000; iteration++)
        {
            var bytes = Encoding.UTF8.GetBytes(TestBodies.RandomBody(random, out _));
            Assert.Equal(JsonBodyStatus.Ok, scanner.Scan(TestBodies.Split(bytes, random)));
            using var document = JsonDocument.Parse(bytes);

            // Expected: the properties in order as (name, raw value); edits apply to the last occurrence.
            var expected = document.RootElement.EnumerateObject().Select(p => (p.Name, Raw: p.Value.GetRawText())).ToList();
            rewriter.Begin(scanner);
            var single = random.Next(3) == 0;
            var replaced = -1;
            var removed = -1;
            var removedFields = 0;
            var operations = single ? 1 : random.Next(1, 6);
            for (var op = 0; op < operations; op++)
            {
                var field = random.Next(s_fields.Count);
                var name = s_fields.GetName(field);
                var at = expected.FindLastIndex(p => p.Name == name);
                switch (random.Next(3))
                {
                    case 0 when at >= 0 && scanner[field].IsPresent && rewriter.ReplaceWithString(field, Encoding.UTF8.GetBytes(TestBodies.RandomText(random) + "\"x\n")):
                        expected[at] = (name, "unused");
                        replaced = field;
                        break;
                    case 1 when at >= 0 && (removedFields & (1 << field)) == 0 && rewriter.Remove(field):
                        // A second Remove of the same field is a no-op (an earlier duplicate stays).
                        expected.RemoveAt(at);
                        removedFields |= 1 << field;
                        removed = field;
                        break;
                    case 2 when at < 0 && !single:
                        var value = "{\"k\":[" + op + ",\"é\"]}";
                        Assert.True(rewriter.Add(Encoding.UTF8.GetBytes(name), Encoding.UTF8.GetBytes(value)));
                        expected.Add((name, value));
                        break;
                    default:
                        break;
                }
            }

            if (!rewriter.HasChanges)
            {
                Assert.Equal(bytes.Length, rewriter.OutputLength);
                continue;
            }

            writer.ResetWrittenCount();
            rewriter.WriteTo(writer);
            var output = writer.WrittenSpan.ToArray();
            var context = $"iteration {iteration}: {Encoding.UTF8.GetString(bytes)} => {Encoding.UTF8.GetString(output)}";
            Assert.True(output.Length == rewriter.OutputLength, context);
            Assert.Equal(output.Length, rewriter.CopyTo(new byte[output.Length]));

            using var result = JsonDocument.Parse(output);
            var actual = result.RootElement.EnumerateObject().ToList();
            Assert.True(expected.Count == actual.Count, context + " expected " + string.Join("|", expected.Select(e => e.Name)) + " actual " + string.Join("|", actual.Select(a => a.Name)));
            for (var i = 0; i < actual.Count; i++)
            {
                Assert.True(expected[i].Name == actual[i].Name, context);
                if (expected[i].Raw != "unused")
                {
                    using var expectedValue = JsonDocument.Parse(expected[i].Raw);
                    Assert.True(JsonElement.DeepEquals(expectedValue.RootElement, actual[i].Value), context);
                }
            }

            if (single && replaced >= 0)
            {
                // Only the value's bytes changed.
                var field = scanner[replaced];
                Assert.Equal(bytes[..(int)field.ValueStart], output[..(int)field.ValueStart]);
                Assert.Equal(bytes[(int)field.ValueEnd..], output[^(bytes.Length - (int)field.ValueEnd)..]);
            }
            else if (single && removed >= 0)
            {
                // One contiguous cut holding the property, whitespace and at most one comma
                // (where exactly it starts can be ambiguous when bytes repeat, so try each start).
                var field = scanner[removed];
                var cut = bytes.Length - output.Length;
                var found = false;
                for (var start = (int)Math.Max(0, field.ValueEnd - cut); start <= field.NameStart && !found; start++)
                {
                    var rest = bytes[start..(int)field.NameStart].Concat(bytes[(int)field.ValueEnd..(start + cut)]).ToArray();
                    found = output.AsSpan(0, start).SequenceEqual(bytes.AsSpan(0, start))
                        && output.AsSpan(start).SequenceEqual(bytes.AsSpan(start + cut))
                        && rest.Count(b => b == ',') == (scanner.PropertyCount > 1 ? 1 : 0)
                        && rest.All(b => b is (byte)',' or (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r');
                }

                Assert.True(found, context);
            }
        }
    }

    [Fact]
    public void Rewrite_SteadyState_AllocatesNothing()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"messages\":[\"" + new string('x', 20_000) + "\"],\"stream\":true,\"model\":\"a\"}");
        var body = TestBodies.Segments(bytes, [100, 9000, bytes.Length - 5]);
        var scanner = new JsonBodyScanner(s_fields);
        using var rewriter = new JsonBodyRewriter();
        var output = new byte[bytes.Length + 100];
        RewriteOnce(scanner, rewriter, body, output);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 50; i++)
        {
            RewriteOnce(scanner, rewriter, body, output);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static void RewriteOnce(JsonBodyScanner scanner, JsonBodyRewriter rewriter, ReadOnlySequence<byte> body, byte[] output)
    {
        scanner.Scan(body);
        rewriter.Begin(scanner);
        rewriter.ReplaceWithString(Model, "meta-llama/Llama-3.1-8B"u8);
        rewriter.Remove(Stream);
        rewriter.AddString("x-routed"u8, "yes"u8);
        Assert.True(rewriter.CopyTo(output) > 0);
    }

    private static JsonBodyScanner Scanned(string json, int segmentSize = 3)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var cuts = Enumerable.Range(1, (bytes.Length - 1) / segmentSize).Select(i => i * segmentSize).ToArray();
        var scanner = new JsonBodyScanner(s_fields);
        Assert.Equal(JsonBodyStatus.Ok, scanner.Scan(TestBodies.Segments(bytes, cuts)));
        return scanner;
    }

    private static string Rewrite(string original, Action<JsonBodyRewriter> edit)
    {
        var scanner = Scanned(original);
        using var rewriter = new JsonBodyRewriter();
        rewriter.Begin(scanner);
        edit(rewriter);
        Assert.True(rewriter.HasChanges);
        var writer = new ArrayBufferWriter<byte>();
        rewriter.WriteTo(writer);
        Assert.Equal(rewriter.OutputLength, writer.WrittenCount);
        return Encoding.UTF8.GetString(writer.WrittenSpan);
    }

    private readonly struct BodyBufferSink(BodyBuffer buffer) : IJsonByteSink
    {
        public void Write(ReadOnlySpan<byte> bytes) => buffer.Append(bytes);
    }
}
