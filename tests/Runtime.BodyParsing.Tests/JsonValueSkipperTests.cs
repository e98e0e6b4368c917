using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Runtime.BodyParsing;

namespace Runtime.BodyParsing.Tests;

/// <summary>
/// The scanner crosses values with its own skipper, not the reader: whatever the skipper accepts
/// or rejects must match what System.Text.Json's reader does, for every grammar corner the random
/// bodies of <see cref="JsonBodyScannerTests"/> rarely reach (deep nesting, numbers, literals,
/// escapes, control bytes), and whichever segment boundary falls inside them.
/// </summary>
public sealed class JsonValueSkipperTests
{
    private static readonly JsonFieldSet s_fields = new("model", "messages");

    // Bytes that turn a valid grammar corner into an invalid one, or the reverse.
    private static readonly byte[] s_mutations = [.. "{}[],:\"\\ 0123456789-+.eEuUabfnrtlsx\t\n"u8, 0x01, 0x1F, 0x7F];

    [Theory]
    [InlineData("{\"a\":-0}", true)]
    [InlineData("{\"a\":-}", false)]
    [InlineData("{\"a\":-01}", false)]
    [InlineData("{\"a\":1.}", false)]
    [InlineData("{\"a\":1.5e}", false)]
    [InlineData("{\"a\":1.5E+07}", true)]
    [InlineData("{\"a\":[1e-3,-0.0,0]}", true)]
    [InlineData("{\"a\":[01]}", false)]
    [InlineData("{\"a\":[1 2]}", false)]
    [InlineData("{\"a\":[1,]}", false)]
    [InlineData("{\"a\":[,1]}", false)]
    [InlineData("{\"a\":{\"b\":1,}}", false)]
    [InlineData("{\"a\":{\"b\" : [true,false,null]}}", true)]
    [InlineData("{\"a\":{b:1}}", false)]
    [InlineData("{\"a\":[nul]}", false)]
    [InlineData("{\"a\":[truex]}", false)]
    [InlineData("{\"a\":\"\\u00e9\\uD83D\\uDE00\"}", true)]
    [InlineData("{\"a\":\"\\u00g9\"}", false)]
    [InlineData("{\"a\":[\"\\q\"]}", false)]
    [InlineData("{\"a\":1x}", false)]
    [InlineData("{\"a\":[1]]}", false)]
    [InlineData("{\"a\":[{]}", false)]
    [InlineData("{\"a\":\"x\" \"b\":1}", false)]
    public void Scan_GrammarCorners_AgreeWithJsonDocument(string json, bool valid)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.Equal(valid, DocumentAccepts(bytes));
        var scanner = new JsonBodyScanner(s_fields);
        for (var cut = 1; cut < bytes.Length; cut++)
        {
            var status = scanner.Scan(TestBodies.Segments(bytes, [cut]));
            Assert.True(valid == (status == JsonBodyStatus.Ok), $"cut at {cut}: {status} for {json}");
        }
    }

    [Fact]
    public void Scan_ControlByteInsideNestedString_IsInvalid()
    {
        var scanner = new JsonBodyScanner(s_fields);
        var bytes = "{\"messages\":[{\"content\":\"a\u0001b\"}]}"u8.ToArray();

        Assert.Equal(JsonBodyStatus.InvalidJson, scanner.Scan(new ReadOnlySequence<byte>(bytes)));
        Assert.False(DocumentAccepts(bytes));
    }

    [Fact]
    public void Scan_DepthLimit_IsTheReadersExactly()
    {
        var scanner = new JsonBodyScanner(s_fields);
        foreach (var nested in new[] { JsonBodyScanner.MaxDepth - 2, JsonBodyScanner.MaxDepth - 1, JsonBodyScanner.MaxDepth })
        {
            foreach (var open in new[] { "[", "{\"k\":" })
            {
                var close = open == "[" ? "]" : "}";
                var bytes = Encoding.UTF8.GetBytes("{\"a\":" + string.Concat(Enumerable.Repeat(open, nested)) + "1" + string.Concat(Enumerable.Repeat(close, nested)) + "}");
                var expected = DocumentAccepts(bytes);
                Assert.Equal(expected, scanner.Scan(new ReadOnlySequence<byte>(bytes)) == JsonBodyStatus.Ok);
            }
        }
    }

    [Fact]
    public void Scan_MutatedNestedValues_AgreeWithJsonDocumentOnValidity()
    {
        var random = new Random(2026);
        var scanner = new JsonBodyScanner(s_fields);
        for (var iteration = 0; iteration < 2000; iteration++)
        {
            var sb = new StringBuilder("{\"messages\":");
            RandomValue(sb, random, depth: 0);
            sb.Append(",\"x\":");
            RandomValue(sb, random, depth: 0);
            sb.Append(",\"model\":\"m\"}");
            var bytes = Encoding.UTF8.GetBytes(sb.ToString());
            AssertSameValidity(scanner, bytes, random);
            for (var i = 0; i < 10; i++)
            {
                var mutated = Mutate(bytes, random);
                AssertSameValidity(scanner, mutated, random);
            }
        }
    }

    [Fact]
    public void Scan_ArrayElements_AreCountedAndKinded()
    {
        var scanner = new JsonBodyScanner(s_fields);
        var bytes = "{\"messages\":[ {\"a\":[1,2]}, \"s\", 3, true, null, [] ],\"model\":\"m\"}"u8.ToArray();

        Assert.Equal(JsonBodyStatus.Ok, scanner.Scan(TestBodies.Segments(bytes, [5, 17, 30])));
        var messages = scanner[1];
        Assert.Equal(6, messages.ElementCount);
        Assert.Equal(JsonElementKinds.Object, messages.FirstElementKind);
        Assert.Equal(
            JsonElementKinds.Object | JsonElementKinds.String | JsonElementKinds.Number | JsonElementKinds.Boolean | JsonElementKinds.Null | JsonElementKinds.Array,
            messages.ElementKinds);
    }

    private static void RandomValue(StringBuilder sb, Random random, int depth)
    {
        var ws = random.Next(6) == 0 ? " \n\t\r"[random.Next(4)].ToString() : "";
        sb.Append(ws);
        switch (depth > 6 ? random.Next(5) : random.Next(7))
        {
            case 0:
                TestBodies.WriteString(sb, TestBodies.RandomText(random), random);
                break;
            case 1:
                sb.Append(random.Next(4) switch
                {
                    0 => random.Next(-1000, 1000).ToString(CultureInfo.InvariantCulture),
                    1 => (random.NextDouble() * 1e6).ToString("R", CultureInfo.InvariantCulture),
                    2 => "-0.5e-7",
                    _ => "0",
                });
                break;
            case 2:
                sb.Append(random.Next(2) == 0 ? "true" : "false");
                break;
            case 3:
                sb.Append("null");
                break;
            case 4:
                sb.Append('"').Append("\\u00e9\\n\\\"\\\\\\/\\b\\f\\r\\t").Append('"');
                break;
            case 5:
                sb.Append('[');
                for (var i = 0; i < random.Next(4); i++)
                {
                    sb.Append(i == 0 ? "" : ",");
                    RandomValue(sb, random, depth + 1);
                }

                sb.Append(ws).Append(']');
                break;
            default:
                sb.Append('{');
                for (var i = 0; i < random.Next(4); i++)
                {
                    sb.Append(i == 0 ? "" : ",").Append(ws);
                    TestBodies.WriteString(sb, "k" + i.ToString(CultureInfo.InvariantCulture), random);
                    sb.Append(ws).Append(':');
                    RandomValue(sb, random, depth + 1);
                }

                sb.Append('}');
                break;
        }

        sb.Append(ws);
    }

    private static byte[] Mutate(byte[] bytes, Random random)
    {
        var at = random.Next(bytes.Length);
        var b = s_mutations[random.Next(s_mutations.Length)];
        return random.Next(3) switch
        {
            0 => [.. bytes[..at], b, .. bytes[at..]],
            1 => [.. bytes[..at], .. bytes[(at + 1)..]],
            _ => [.. bytes[..at], b, .. bytes[(at + 1)..]],
        };
    }

    private static void AssertSameValidity(JsonBodyScanner scanner, byte[] bytes, Random random)
    {
        var status = scanner.Scan(TestBodies.Split(bytes, random));
        var expected = DocumentAccepts(bytes) && bytes.AsSpan().TrimStart(" \t\r\n"u8)[0] == (byte)'{' && Utf8.IsValid(bytes);
        if (!expected && status == JsonBodyStatus.NotAnObject)
        {
            return; // a body that does not start with '{' is refused by its first token
        }

        Assert.True(expected == (status == JsonBodyStatus.Ok), $"document says {expected}, scanner {status} for: {Encoding.UTF8.GetString(bytes)}");
    }

    private static bool DocumentAccepts(byte[] bytes)
    {
        try
        {
            using var document = JsonDocument.Parse(bytes);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
