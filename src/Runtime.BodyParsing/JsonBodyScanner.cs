using System.Buffers;
using System.Text.Json;

namespace Runtime.BodyParsing;

/// <summary>
/// Finds the requested top-level properties of a JSON object body in one forward pass of
/// <see cref="Utf8JsonReader"/>, without building a document: every other value (prompts,
/// message lists) is skipped by the reader at memory speed. Works directly on the
/// multi-segment sequence a body is accumulated into, whatever byte the chunks were split at.
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
            var awaitingNext = -1; // the last matched field, whose NextNameStart is the next name
            while (true)
            {
                if (!reader.Read())
                {
                    return JsonBodyStatus.InvalidJson;
                }

                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    ObjectEnd = reader.TokenStartIndex;
                    break;
                }

                var nameStart = reader.TokenStartIndex;
                if (awaitingNext >= 0)
                {
                    _results[awaitingNext].NextNameStart = nameStart;
                    awaitingNext = -1;
                }

                var field = Match(ref reader);
                if (!reader.Read())
                {
                    return JsonBodyStatus.InvalidJson;
                }

                long valueEnd;
                if (field >= 0)
                {
                    valueEnd = Record(ref reader, ref _results[field], propertyIndex, nameStart, previousValueEnd);
                    awaitingNext = field;
                }
                else
                {
                    // A no-op on scalars; on objects and arrays the reader skips to the matching end
                    // without producing tokens for us (the fast path for prompts and messages).
                    reader.Skip();
                    valueEnd = reader.BytesConsumed;
                }

                previousValueEnd = valueEnd;
                propertyIndex++;
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

    private static long Record(ref Utf8JsonReader reader, ref JsonField result, int propertyIndex, long nameStart, long previousValueEnd)
    {
        var tokenType = reader.TokenType;
        var valueStart = reader.TokenStartIndex;
        var elementCount = 0;
        var firstKind = JsonElementKinds.None;
        var kinds = JsonElementKinds.None;
        if (tokenType == JsonTokenType.StartArray)
        {
            // Walk the elements (skipping each nested one) to learn count and kinds; costs about
            // what skipping the whole array would.
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                var kind = reader.TokenType.ToKind();
                if (elementCount == 0)
                {
                    firstKind = kind;
                }

                kinds |= kind;
                elementCount++;
                reader.Skip();
            }
        }
        else
        {
            reader.Skip();
        }

        var valueEnd = reader.BytesConsumed;
        result = new JsonField
        {
            TokenType = tokenType,
            PropertyIndex = propertyIndex,
            Occurrences = result.Occurrences + 1,
            NameStart = nameStart,
            ValueStart = valueStart,
            ValueEnd = valueEnd,
            PreviousValueEnd = previousValueEnd,
            NextNameStart = -1,
            ElementCount = elementCount,
            FirstElementKind = firstKind,
            ElementKinds = kinds,
            ValueIsEscaped = tokenType == JsonTokenType.String && reader.ValueIsEscaped,
        };
        return valueEnd;
    }
}
