using System.Buffers;
using System.Text.Json;

namespace Runtime.BodyParsing;

/// <summary>
/// Finds the requested top-level properties of a JSON object body in one forward pass, without
/// building a document: <see cref="Utf8JsonReader"/> reads the object's braces, commas and names,
/// and <see cref="JsonValueSkipper"/> crosses each value (prompts, message lists) at memory speed,
/// validating it as the reader would. Works directly on the multi-segment sequence a body is
/// accumulated into, whatever byte the chunks were split at.
/// </summary>
/// <remarks>
/// One scanner per request stream (pool it with the stream state): the per-field results live
/// in an array sized once from the <see cref="JsonFieldSet"/>, so a scan allocates nothing.
/// Bad input never throws out of <see cref="Scan"/>; it sets <see cref="Status"/>. The reader
/// reports malformed JSON only by throwing, so a malformed body costs one caught exception —
/// the only allocation, and only on the 400 path.
/// The scanner keeps the scanned sequence (<see cref="Body"/>) for the value helpers and the
/// rewriter; the caller must not release the body's buffers before it is done with both.
/// </remarks>
public sealed partial class JsonBodyScanner
{
    /// <summary>Same nesting limit as JsonDocument's default, so the two agree on what is valid.</summary>
    public const int MaxDepth = 64;

    private static readonly JsonReaderOptions s_options = new()
    {
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
        MaxDepth = MaxDepth,
    };

    /// <summary>
    /// A reader state "inside the top-level object, just past a member's value", for resuming
    /// after the skipper: the next token must be ',' and a name, or the closing brace.
    /// </summary>
    private static readonly JsonReaderState s_afterMemberValue = AfterMemberValue();

    private readonly JsonFieldSet _fields;
    private readonly JsonField[] _results;
    private readonly bool _validateUtf8;
    private ReadOnlySequence<byte> _body;

    /// <param name="fields">The top-level names to record.</param>
    /// <param name="validateUtf8">
    /// Reject bodies whose strings are not UTF-8. The reader does not check string contents, and
    /// a prompt with broken bytes would otherwise reach the model server; the check is one
    /// vectorised pass over the body.
    /// </param>
    public JsonBodyScanner(JsonFieldSet fields, bool validateUtf8 = true)
    {
        ArgumentNullException.ThrowIfNull(fields);
        _fields = fields;
        _results = new JsonField[fields.Count];
        _validateUtf8 = validateUtf8;
    }

    public JsonFieldSet Fields => _fields;

    public JsonBodyStatus Status { get; private set; }

    /// <summary>A constant text for <see cref="Status"/> (for the 400 body).</summary>
    public string StatusText => JsonBodyStatusText.Describe(Status);

    /// <summary>The body of the last scan.</summary>
    public ReadOnlySequence<byte> Body => _body;

    /// <summary>Number of top-level properties (duplicates counted).</summary>
    public int PropertyCount { get; private set; }

    /// <summary>Offset of the top-level object's opening brace.</summary>
    public long ObjectStart { get; private set; }

    /// <summary>Offset of the top-level object's closing brace.</summary>
    public long ObjectEnd { get; private set; }

    /// <summary>End of the last top-level property's value, or -1 when the object is empty.</summary>
    public long LastValueEnd { get; private set; }

    /// <summary>The result for a field of <see cref="Fields"/>; meaningful when <see cref="Status"/> is Ok.</summary>
    public ref readonly JsonField this[int field] => ref _results[field];

    public JsonBodyStatus Scan(in ReadOnlySequence<byte> body)
    {
        Clear();
        _body = body;
        Status = ScanCore(body);
        if (Status == JsonBodyStatus.Ok && _validateUtf8 && !Utf8Validation.IsValid(body))
        {
            Status = JsonBodyStatus.InvalidUtf8;
        }

        return Status;
    }

    /// <summary>Forgets the last body (drops the reference to its buffers) and every result.</summary>
    public void Clear()
    {
        Array.Clear(_results);
        _body = default;
        Status = JsonBodyStatus.None;
        PropertyCount = 0;
        ObjectStart = ObjectEnd = LastValueEnd = -1;
    }

    private JsonBodyStatus ScanCore(in ReadOnlySequence<byte> body)
    {
        if (body.IsEmpty)
        {
            return JsonBodyStatus.Empty;
        }

        var reader = new Utf8JsonReader(body, isFinalBlock: true, new JsonReaderState(s_options));
        try
        {
            if (!reader.Read())
            {
                return JsonBodyStatus.Empty;
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return JsonBodyStatus.NotAnObject;
            }

            ObjectStart = reader.TokenStartIndex;
            var propertyIndex = 0;
            long previousValueEnd = -1;
            long origin = 0; // where the current reader's input starts in the body
            var awaitingNext = -1; // the last matched field, whose NextNameStart is the next name
            while (true)
            {
                if (!reader.Read())
                {
                    return JsonBodyStatus.InvalidJson;
                }

                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    ObjectEnd = origin + reader.TokenStartIndex;
                    break;
                }

                var nameStart = origin + reader.TokenStartIndex;
                if (awaitingNext >= 0)
                {
                    _results[awaitingNext].NextNameStart = nameStart;
                    awaitingNext = -1;
                }

                // The reader has consumed the name and its colon; values (prompts, message lists)
                // are crossed by the skipper at memory speed, and a fresh reader resumes after each.
                var field = Match(ref reader);
                if (!JsonValueSkipper.TrySkipValue(body, origin + reader.BytesConsumed, out var value))
                {
                    return JsonBodyStatus.InvalidJson;
                }

                if (field >= 0)
                {
                    Record(value, ref _results[field], propertyIndex, nameStart, previousValueEnd);
                    awaitingNext = field;
                }

                previousValueEnd = value.End;
                propertyIndex++;
                origin = value.End;
                reader = new Utf8JsonReader(body.Slice(origin), isFinalBlock: true, s_afterMemberValue);
            }

            PropertyCount = propertyIndex;
            LastValueEnd = previousValueEnd;

            // With isFinalBlock, Read() returns false at the end and throws on anything but whitespace.
            return reader.Read() ? JsonBodyStatus.InvalidJson : JsonBodyStatus.Ok;
        }
        catch (JsonException)
        {
            return JsonBodyStatus.InvalidJson;
        }
    }

    private static JsonReaderState AfterMemberValue()
    {
        var reader = new Utf8JsonReader("{\"a\":\"\""u8, isFinalBlock: false, new JsonReaderState(s_options));
        while (reader.TokenType != JsonTokenType.String)
        {
            reader.Read();
        }

        return reader.CurrentState;
    }

    private int Match(ref Utf8JsonReader reader)
    {
        var count = _fields.Count;
        if (!reader.HasValueSequence && !reader.ValueIsEscaped)
        {
            // The common case: a plain name inside one segment compares as bytes.
            var name = reader.ValueSpan;
            for (var i = 0; i < count; i++)
            {
                if (name.SequenceEqual(_fields.GetUtf8Name(i)))
                {
                    return i;
                }
            }

            return -1;
        }

        // Split across segments or escaped ("mod\u0065l"): the reader unescapes and joins for us.
        for (var i = 0; i < count; i++)
        {
            if (TextEquals(ref reader, _fields.GetUtf8Name(i)))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// <see cref="Utf8JsonReader.ValueTextEquals(ReadOnlySpan{byte})"/> that answers false instead of
    /// throwing for an escaped lone surrogate ("\ud83d" alone): such text equals no UTF-8 string, and
    /// JsonDocument accepts the body, so it is not a reason to fail the scan (found by fuzzing).
    /// </summary>
    internal static bool TextEquals(ref Utf8JsonReader reader, ReadOnlySpan<byte> utf8)
    {
        try
        {
            return reader.ValueTextEquals(utf8);
        }
        catch (InvalidOperationException) when (reader.ValueIsEscaped)
        {
            return false;
        }
    }

    private static void Record(in SkippedValue value, ref JsonField result, int propertyIndex, long nameStart, long previousValueEnd) =>
        result = new JsonField
        {
            TokenType = value.TokenType,
            PropertyIndex = propertyIndex,
            Occurrences = result.Occurrences + 1,
            NameStart = nameStart,
            ValueStart = value.Start,
            ValueEnd = value.End,
            PreviousValueEnd = previousValueEnd,
            NextNameStart = -1,
            ElementCount = value.ElementCount,
            FirstElementKind = value.FirstElementKind,
            ElementKinds = value.ElementKinds,
            ValueIsEscaped = value.IsEscaped,
        };
}
