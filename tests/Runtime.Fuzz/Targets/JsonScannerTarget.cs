using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;
using Runtime.BodyParsing;

namespace Runtime.Fuzz.Targets;

/// <summary>
/// The request-body scanner (model extraction). Invariants: it agrees with JsonDocument on
/// validity (malformed, not an object, not UTF-8, valid); on a valid body every recorded field
/// matches JsonDocument's last occurrence (raw text, kind, array length, unescaped string); one
/// segment and many give the same result; the typed helpers never throw.
/// </summary>
internal static class JsonScannerTarget
{
    internal static readonly JsonFieldSet Fields = new("model", "messages", "prompt", "stream", "max_tokens", "usage");
    private static readonly JsonBodyScanner s_single = new(Fields);
    private static readonly JsonBodyScanner s_split = new(Fields);

    public static void Run(byte[] input)
    {
        var status = s_single.Scan(new ReadOnlySequence<byte>(input));
        var statusSplit = s_split.Scan(Segments.Split(input));
        FuzzAssert.True(status == statusSplit, $"one segment says {status}, many say {statusSplit}");

        var expected = Oracle(input, out var document);
        using (document)
        {
            // A malformed non-object ("[1,") is reported by its first token; both are 400s.
            FuzzAssert.True(expected == status || (expected == JsonBodyStatus.InvalidJson && status == JsonBodyStatus.NotAnObject), $"JsonDocument says {expected}, the scanner {status}");
            if (status != JsonBodyStatus.Ok)
            {
                return;
            }

            var root = document!.RootElement;
            FuzzAssert.True(root.EnumerateObject().Count() == s_single.PropertyCount, "property count differs from JsonDocument");
            for (var field = 0; field < Fields.Count; field++)
            {
                CheckField(s_single, root, field, input);
                CheckField(s_split, root, field, input);
            }
        }
    }

    /// <summary>JsonProperty.NameEquals throws for an escaped lone surrogate; such a name equals no field name.</summary>
    private static bool NameEquals(JsonProperty property, string name)
    {
        try
        {
            return property.NameEquals(name);
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static JsonBodyStatus Oracle(byte[] input, out JsonDocument? document)
    {
        document = null;
        try
        {
            document = JsonDocument.Parse(input);
        }
        catch (JsonException)
        {
            return input.Length == 0 ? JsonBodyStatus.Empty : JsonBodyStatus.InvalidJson;
        }

        return document.RootElement.ValueKind != JsonValueKind.Object ? JsonBodyStatus.NotAnObject
            : !Utf8.IsValid(input) ? JsonBodyStatus.InvalidUtf8
            : JsonBodyStatus.Ok;
    }

    private static void CheckField(JsonBodyScanner scanner, JsonElement root, int field, byte[] input)
    {
        var name = Fields.GetName(field);
        var result = scanner[field];
        JsonElement? last = null;
        var occurrences = 0;
        foreach (var property in root.EnumerateObject())
        {
            if (NameEquals(property, name))
            {
                last = property.Value;
                occurrences++;
            }
        }

        FuzzAssert.True(result.IsPresent == (last is not null), $"{name}: presence differs from JsonDocument");
        if (last is not { } value)
        {
            return;
        }

        FuzzAssert.True(result.Occurrences == occurrences, $"{name}: occurrences differ");
        FuzzAssert.True(scanner.GetRawValue(field).ToArray().AsSpan().SequenceEqual(System.Text.Encoding.UTF8.GetBytes(value.GetRawText())), $"{name}: raw value differs");
        FuzzAssert.True(input[result.NameStart] == (byte)'"', $"{name}: NameStart is not a quote");
        var kind = value.ValueKind switch
        {
            JsonValueKind.String => JsonElementKinds.String,
            JsonValueKind.Number => JsonElementKinds.Number,
            JsonValueKind.True or JsonValueKind.False => JsonElementKinds.Boolean,
            JsonValueKind.Null => JsonElementKinds.Null,
            JsonValueKind.Object => JsonElementKinds.Object,
            _ => JsonElementKinds.Array,
        };
        FuzzAssert.True(result.Kind == kind, $"{name}: kind {result.Kind}, JsonDocument {kind}");
        if (value.ValueKind == JsonValueKind.Array)
        {
            FuzzAssert.True(result.ElementCount == value.GetArrayLength(), $"{name}: array length differs");
        }

        scanner.TryGetBoolean(field, out _);
        scanner.TryGetInt64(field, out _);
        scanner.TryGetDouble(field, out _);
        scanner.IsNonEmptyArray(field);
        scanner.IsArrayOf(field, JsonElementKinds.String);
        if (value.ValueKind == JsonValueKind.String)
        {
            var buffer = new byte[scanner.GetMaxStringLength(field)];
            string? text;
            try
            {
                text = value.GetString();
            }
            catch (InvalidOperationException)
            {
                text = null; // an escaped lone surrogate: JsonDocument refuses to decode it
            }

            var copied = scanner.TryCopyString(field, buffer, out var written);
            if (text is null)
            {
                FuzzAssert.True(!copied, $"{name}: copied a string JsonDocument cannot decode");
                return;
            }

            var expected = System.Text.Encoding.UTF8.GetBytes(text);
            FuzzAssert.True(copied && buffer.AsSpan(0, written).SequenceEqual(expected), $"{name}: unescaped string differs");
            FuzzAssert.True(scanner.ValueEquals(field, expected), $"{name}: ValueEquals is false for its own value");
        }
    }
}
