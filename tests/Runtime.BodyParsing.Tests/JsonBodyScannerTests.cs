using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Runtime.ExtProc.Buffers;

namespace Runtime.BodyParsing.Tests;

public class JsonBodyScannerTests
{
    private static readonly JsonFieldSet s_fields = new(TestBodies.KnownNames);
    private static readonly byte[] s_mutations = [.. "{}[],:\"\\ax0 "u8, 0xFF, 0xC3, 0x80, 0x01];
    private const int Model = 0;
    private const int Stream = 1;
    private const int Messages = 2;
    private const int Prompt = 3;

    [Fact]
    public void Scan_ChatBodyWithModelLast_FindsEveryField()
    {
        var json = """{"messages":[{"role":"user","content":"hi"}],"stream":true,"model":"llama-3"}"""u8.ToArray();
        var scanner = new JsonBodyScanner(s_fields);

        Assert.Equal(JsonBodyStatus.Ok, scanner.Scan(new ReadOnlySequence<byte>(json)));
        Assert.Equal(3, scanner.PropertyCount);
        var model = scanner[Model];
        Assert.Equal(JsonTokenType.String, model.TokenType);
        Assert.Equal("\"llama-3\"", Encoding.UTF8.GetString(json, (int)model.ValueStart, (int)model.ValueLength));
        Assert.Equal(-1, model.NextNameStart);
        Assert.True(scanner.ValueEquals(Model, "llama-3"u8));
        Assert.True(scanner.TryGetBoolean(Stream, out var stream) && stream);
        Assert.True(scanner.IsNonEmptyArray(Messages));
        Assert.Equal(JsonElementKinds.Object, scanner[Messages].FirstElementKind);
        Assert.False(scanner[Prompt].IsPresent);
    }

    [Fact]
    public void Scan_ModelIsNotAString_ReportsTokenTypeAndConstantMessage()
    {
        var scanner = new JsonBodyScanner(s_fields);

        Assert.Equal(JsonBodyStatus.Ok, scanner.Scan(new ReadOnlySequence<byte>("""{"model":{"name":"x"}}"""u8.ToArray())));
        Assert.Equal(JsonTokenType.StartObject, scanner[Model].TokenType);
        Assert.False(scanner.TryCopyString(Model, new byte[64], out _));
        Assert.Equal("model must be a string", s_fields.GetMessage(Model, JsonFieldProblem.NotString));
        Assert.Same(s_fields.GetMessage(Model, JsonFieldProblem.NotString), s_fields.GetMessage(Model, JsonFieldProblem.NotString));
    }

    [Fact]
    public void Scan_EscapedNameAndValue_MatchesUnescaped()
    {
        var json = """{"mod\u0065l":"a\"b\u00e9\ud83d\ude00"}"""u8.ToArray();
        var scanner = new JsonBodyScanner(s_fields);

        Assert.Equal(JsonBodyStatus.Ok, scanner.Scan(new ReadOnlySequence<byte>(json)));
        Assert.True(scanner[Model].ValueIsEscaped);
        var buffer = new byte[scanner.GetMaxStringLength(Model)];
        Assert.True(scanner.TryCopyString(Model, buffer, out var written));
        Assert.Equal("a\"bé😀", Encoding.UTF8.GetString(buffer, 0, written));
        Assert.True(scanner.ValueEquals(Model, "a\"bé😀"u8));
        Assert.False(scanner.ValueEquals(Model, "a\"bé"u8));
    }

    [Fact]
    public void Scan_DuplicateName_LastOccurrenceWins()
    {
        var scanner = new JsonBodyScanner(s_fields);

        Assert.Equal(JsonBodyStatus.Ok, scanner.Scan(new ReadOnlySequence<byte>("""{"model":"a","x":1,"model":"b"}"""u8.ToArray())));
        Assert.True(scanner.ValueEquals(Model, "b"u8));
        Assert.Equal(2, scanner[Model].Occurrences);
        Assert.Equal(2, scanner[Model].PropertyIndex);
    }

    [Fact]
    public void Scan_PromptShapes_ReportsElementKinds()
    {
        var scanner = new JsonBodyScanner(s_fields);

        scanner.Scan(new ReadOnlySequence<byte>("""{"prompt":[1,2,3]}"""u8.ToArray()));
        Assert.True(scanner.IsArrayOf(Prompt, JsonElementKinds.Number));
        Assert.Equal(3, scanner[Prompt].ElementCount);

        scanner.Scan(new ReadOnlySequence<byte>("""{"prompt":["a",[1],"b"]}"""u8.ToArray()));
        Assert.False(scanner.IsArrayOf(Prompt, JsonElementKinds.String));
        Assert.Equal(JsonElementKinds.String | JsonElementKinds.Array, scanner[Prompt].ElementKinds);

        scanner.Scan(new ReadOnlySequence<byte>("""{"prompt":[]}"""u8.ToArray()));
        Assert.False(scanner.IsNonEmptyArray(Prompt));
        Assert.Equal(0, scanner[Prompt].ElementCount);
    }

    [Fact]
    public void Scan_NumbersAndBooleans_ReadTyped()
    {
        var scanner = new JsonBodyScanner(s_fields);

        scanner.Scan(new ReadOnlySequence<byte>("""{"max_tokens":128,"temperature":0.5,"stream":false}"""u8.ToArray()));
        Assert.True(scanner.TryGetInt64(6, out var maxTokens));
        Assert.Equal(128, maxTokens);
        Assert.True(scanner.TryGetDouble(7, out var temperature));
        Assert.Equal(0.5, temperature);
        Assert.True(scanner.TryGetBoolean(Stream, out var stream));
        Assert.False(stream);
        Assert.False(scanner.TryGetInt64(7, out _));
        Assert.False(scanner.TryGetBoolean(6, out _));
    }

    [Theory]
    [InlineData("", JsonBodyStatus.Empty)]
    [InlineData("   \n", JsonBodyStatus.InvalidJson)]
    [InlineData("[1,2]", JsonBodyStatus.NotAnObject)]
    [InlineData("\"model\"", JsonBodyStatus.NotAnObject)]
    [InlineData("42", JsonBodyStatus.NotAnObject)]
    [InlineData("null", JsonBodyStatus.NotAnObject)]
    [InlineData("{\"model\":\"a\"", JsonBodyStatus.InvalidJson)]
    [InlineData("{\"model\":\"a", JsonBodyStatus.InvalidJson)]
    [InlineData("{\"model\":", JsonBodyStatus.InvalidJson)]
    [InlineData("{\"model\":\"a\"} x", JsonBodyStatus.InvalidJson)]
    [InlineData("{\"model\":\"a\"}{}", JsonBodyStatus.InvalidJson)]
    [InlineData("{\"model\":\"a\",}", JsonBodyStatus.InvalidJson)]
    [InlineData("{\"model\" \"a\"}", JsonBodyStatus.InvalidJson)]
    [InlineData("{model:\"a\"}", JsonBodyStatus.InvalidJson)]
    [InlineData("{\"a\":1 /* c */}", JsonBodyStatus.InvalidJson)]
    [InlineData("{\"a\":01}", JsonBodyStatus.InvalidJson)]
    [InlineData("{\"a\":\"\\x\"}", JsonBodyStatus.InvalidJson)]
    [InlineData("{\"a\":\"tab\there\"}", JsonBodyStatus.InvalidJson)]
    [InlineData("{\"a\":[1,2}", JsonBodyStatus.InvalidJson)]
    [InlineData("{\"a\":tru}", JsonBodyStatus.InvalidJson)]
    public void Scan_BadBody_ReportsStatusWithoutThrowing(string body, JsonBodyStatus expected)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var scanner = new JsonBodyScanner(s_fields);

        Assert.Equal(expected, scanner.Scan(new ReadOnlySequence<byte>(bytes)));
        Assert.Equal(expected, scanner.Scan(TestBodies.ByteByByte(bytes)));
        Assert.NotEmpty(scanner.StatusText);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0xC3 })]                   // truncated 2-byte character
    [InlineData(new byte[] { 0xE4, 0xB8 })]             // truncated 3-byte character
    [InlineData(new byte[] { 0xC0, 0xAF })]             // overlong
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]       // encoded surrogate
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 })] // above U+10FFFF
    [InlineData(new byte[] { 0x80 })]                   // lone continuation
    public void Scan_InvalidUtf8InString_ReportsInvalidUtf8(byte[] bad)
    {
        byte[] bytes = [.. "{\"model\":\"x"u8, .. bad, .. "y\",\"p\":\"ok\"}"u8];
        var scanner = new JsonBodyScanner(s_fields);

        Assert.Equal(JsonBodyStatus.InvalidUtf8, scanner.Scan(new ReadOnlySequence<byte>(bytes)));
        Assert.Equal(JsonBodyStatus.InvalidUtf8, scanner.Scan(TestBodies.ByteByByte(bytes)));
        Assert.False(Utf8.IsValid(bytes));
    }

    [Fact]
    public void Scan_NestingDeeperThanLimit_ReportsInvalidJson()
    {
        var deep = "{\"a\":" + new string('[', JsonBodyScanner.MaxDepth) + new string(']', JsonBodyScanner.MaxDepth) + "}";
        var scanner = new JsonBodyScanner(s_fields);

        Assert.Equal(JsonBodyStatus.InvalidJson, scanner.Scan(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(deep))));
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(deep).Dispose());
    }

    [Fact]
    public void Scan_RandomBodiesInRandomSegments_AgreesWithJsonDocument()
    {
        var random = new Random(4242);
        var scanner = new JsonBodyScanner(s_fields);
        for (var iteration = 0; iteration < 3000; iteration++)
        {
            var bytes = Encoding.UTF8.GetBytes(TestBodies.RandomBody(random, out _));
            var body = iteration % 10 == 0 ? TestBodies.ByteByByte(bytes) : TestBodies.Split(bytes, random);

            Assert.Equal(JsonBodyStatus.Ok, scanner.Scan(body));
            AssertAgreesWithDocument(scanner, bytes, iteration);
        }
    }

    [Fact]
    public void Scan_BodyAccumulatedInBodyBuffer_AgreesWithJsonDocument()
    {
        // A real accumulation: a ~100 KB body in GIE-sized chunks lands in 16 KB, 32 KB, 64 KB segments.
        var random = new Random(7);
        var scanner = new JsonBodyScanner(s_fields);
        var buffer = new BodyBuffer();
        for (var iteration = 0; iteration < 20; iteration++)
        {
            var sb = new StringBuilder("{\"messages\":[");
            for (var i = 0; i < 100; i++)
            {
                sb.Append(i == 0 ? "" : ",").Append("{\"role\":\"user\",\"content\":");
                TestBodies.WriteString(sb, TestBodies.RandomText(random) + new string('é', random.Next(500)) + "中😀", random);
                sb.Append('}');
            }

            sb.Append("],\"stream\":true,\"model\":");
            TestBodies.WriteString(sb, "meta/llama-3 " + TestBodies.RandomText(random), random);
            sb.Append('}');
            var bytes = Encoding.UTF8.GetBytes(sb.ToString());
            buffer.Reset();
            for (var at = 0; at < bytes.Length;)
            {
                var n = Math.Min(bytes.Length - at, random.Next(1, 16_000));
                buffer.Append(bytes.AsSpan(at, n));
                at += n;
            }

            var body = buffer.AsSequence();
            Assert.False(body.IsSingleSegment);
            Assert.Equal(JsonBodyStatus.Ok, scanner.Scan(body));
            AssertAgreesWithDocument(scanner, bytes, iteration);
        }

        buffer.Reset();
    }

    [Fact]
    public void Scan_EveryPrefixAndMutation_AgreesWithJsonDocumentOnValidity()
    {
        var random = new Random(99);
        var scanner = new JsonBodyScanner(s_fields);
        for (var iteration = 0; iteration < 300; iteration++)
        {
            var bytes = Encoding.UTF8.GetBytes(TestBodies.RandomBody(random, out _));
            for (var length = 0; length < bytes.Length; length += 1 + (bytes.Length / 64))
            {
                AssertSameValidity(scanner, bytes[..length], random);
            }

            for (var i = 0; i < 20 && bytes.Length > 0; i++)
            {
                var mutated = (byte[])bytes.Clone();
                mutated[random.Next(mutated.Length)] = s_mutations[random.Next(s_mutations.Length)];
                AssertSameValidity(scanner, mutated, random);
            }
        }
    }

    [Fact]
    public void Scan_SteadyState_AllocatesNothing()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('x', 50_000) + "\"}],\"prompt\":[1,2],\"mod\\u0065l\":\"llama\"}");
        var body = TestBodies.Segments(bytes, [10, 5000, 30_000, bytes.Length - 12, bytes.Length - 4]);
        var scanner = new JsonBodyScanner(s_fields);
        Span<byte> model = stackalloc byte[64];
        scanner.Scan(body);
        scanner.TryCopyString(Model, model, out _);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            scanner.Scan(body);
            scanner.TryCopyString(Model, model, out _);
            scanner.ValueEquals(Model, "llama"u8);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(scanner.ValueEquals(Model, "llama"u8));
    }

    private static void AssertSameValidity(JsonBodyScanner scanner, byte[] bytes, Random random)
    {
        var status = scanner.Scan(TestBodies.Split(bytes, random));
        bool documentOk;
        bool isObject = false;
        try
        {
            using var document = JsonDocument.Parse(bytes);
            documentOk = true;
            isObject = document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            documentOk = false;
        }

        var expected = !documentOk ? (bytes.Length == 0 ? JsonBodyStatus.Empty : JsonBodyStatus.InvalidJson)
            : !isObject ? JsonBodyStatus.NotAnObject
            : !Utf8.IsValid(bytes) ? JsonBodyStatus.InvalidUtf8
            : JsonBodyStatus.Ok;
        if (expected == JsonBodyStatus.InvalidJson && status == JsonBodyStatus.NotAnObject)
        {
            return; // a malformed non-object ("[1,") is reported by its first token; both are 400s
        }

        Assert.True(expected == status, $"expected {expected}, got {status} for: {Encoding.UTF8.GetString(bytes)}");
    }

    private static void AssertAgreesWithDocument(JsonBodyScanner scanner, byte[] bytes, int iteration)
    {
        using var document = JsonDocument.Parse(bytes);
        var root = document.RootElement;
        Assert.Equal(root.EnumerateObject().Count(), scanner.PropertyCount);
        for (var field = 0; field < s_fields.Count; field++)
        {
            var name = s_fields.GetName(field);
            var occurrences = root.EnumerateObject().Where(p => p.NameEquals(name)).ToList();
            var result = scanner[field];
            var context = $"iteration {iteration}, field {name}: {Encoding.UTF8.GetString(bytes)}";
            if (occurrences.Count == 0)
            {
                Assert.False(result.IsPresent, context);
                continue;
            }

            var value = occurrences[^1].Value;
            Assert.True(result.IsPresent, context);
            Assert.Equal(occurrences.Count, result.Occurrences);
            Assert.Equal(value.GetRawText(), Encoding.UTF8.GetString(bytes, (int)result.ValueStart, (int)result.ValueLength));
            Assert.Equal((byte)'"', bytes[result.NameStart]);
            Assert.Equal(value.ValueKind switch
            {
                JsonValueKind.String => JsonElementKinds.String,
                JsonValueKind.Number => JsonElementKinds.Number,
                JsonValueKind.True or JsonValueKind.False => JsonElementKinds.Boolean,
                JsonValueKind.Null => JsonElementKinds.Null,
                JsonValueKind.Object => JsonElementKinds.Object,
                _ => JsonElementKinds.Array,
            }, result.Kind);

            if (value.ValueKind == JsonValueKind.Array)
            {
                Assert.Equal(value.GetArrayLength(), result.ElementCount);
            }

            if (value.ValueKind == JsonValueKind.String)
            {
                var expected = Encoding.UTF8.GetBytes(value.GetString()!);
                var buffer = new byte[scanner.GetMaxStringLength(field)];
                Assert.True(scanner.TryCopyString(field, buffer, out var written), context);
                Assert.Equal(expected, buffer[..written]);
                Assert.True(scanner.ValueEquals(field, expected), context);
            }
        }
    }
}
