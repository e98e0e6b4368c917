using System.Buffers;
using Runtime.BodyParsing;

namespace Runtime.EndpointPicker.Requests;

/// <summary>
/// Reads what the endpoint picker needs from an OpenAI-style body in one streaming pass (SPEC §2):
/// <c>model</c>, the prompt for prefix hashing, <c>stream</c> and <c>cache_salt</c>, and checks each
/// API's required field. One parser per stream; the body bytes are never copied or re-serialised.
/// </summary>
internal sealed class InferenceRequestParser
{
    internal const int Model = 0;
    internal const int Messages = 1;
    internal const int Prompt = 2;
    internal const int Input = 3;
    internal const int Items = 4;
    internal const int Stream = 5;
    internal const int CacheSalt = 6;

    internal static readonly JsonFieldSet Fields = new("model", "messages", "prompt", "input", "items", "stream", "cache_salt");

    public JsonBodyScanner Scanner { get; } = new(Fields);

    /// <summary>Scans and validates; on failure <paramref name="error"/> is a constant text for a 400.</summary>
    public bool TryParse(InferenceApi api, in ReadOnlySequence<byte> body, out string error)
    {
        var scanner = Scanner;
        if (scanner.Scan(body) != JsonBodyStatus.Ok)
        {
            error = scanner.StatusText;
            return false;
        }

        ref readonly var model = ref scanner[Model];
        if (!model.IsPresent || model.Kind != JsonElementKinds.String || model.ValueLength <= 2)
        {
            error = model.IsPresent && model.Kind != JsonElementKinds.String ? "model must be a string" : "model not found in request body";
            return false;
        }

        error = api switch
        {
            InferenceApi.ChatCompletions when !scanner.IsNonEmptyArray(Messages) => "chat completions request must have a non-empty messages array",
            InferenceApi.Completions when !IsPrompt(scanner) => "completions request must have a prompt: a string, a list of strings, or token ids",
            InferenceApi.Responses when !scanner[Input].IsPresent => "responses request must have input",
            InferenceApi.Conversations when !scanner[Items].IsPresent => "conversations request must have items",
            InferenceApi.Embeddings when !scanner[Input].IsPresent => "embeddings request must have input",
            _ => string.Empty,
        };
        if (error.Length > 0)
        {
            return false;
        }

        if (scanner[Stream].IsPresent && !scanner.TryGetBoolean(Stream, out _))
        {
            error = "stream must be a boolean";
            return false;
        }

        if (scanner[CacheSalt].IsPresent && scanner[CacheSalt].Kind != JsonElementKinds.String)
        {
            error = "cache_salt must be a string";
            return false;
        }

        return true;
    }

    public bool IsStreaming => Scanner.TryGetBoolean(Stream, out var stream) && stream;

    /// <summary>The raw JSON of the prompt this API hashes for prefix reuse (chat: the messages), or empty.</summary>
    public ReadOnlySequence<byte> PromptBytes(InferenceApi api)
    {
        var field = api switch
        {
            InferenceApi.ChatCompletions => Messages,
            InferenceApi.Completions => Prompt,
            InferenceApi.Conversations => Items,
            InferenceApi.Responses or InferenceApi.Embeddings => Input,
            _ => Scanner[Messages].IsPresent ? Messages : Scanner[Prompt].IsPresent ? Prompt : Input,
        };
        return Scanner[field].IsPresent ? Scanner.GetRawValue(field) : default;
    }

    /// <summary>The <c>cache_salt</c> string's raw bytes (between the quotes), or empty.</summary>
    public ReadOnlySequence<byte> CacheSaltBytes()
    {
        ref readonly var salt = ref Scanner[CacheSalt];
        if (!salt.IsPresent || salt.Kind != JsonElementKinds.String)
        {
            return default;
        }

        var raw = Scanner.GetRawValue(CacheSalt);
        return raw.Slice(1, raw.Length - 2);
    }

    private static bool IsPrompt(JsonBodyScanner scanner)
    {
        ref readonly var prompt = ref scanner[Prompt];
        return prompt.Kind switch
        {
            JsonElementKinds.String => true,
            // A list of strings, token ids, or a batch of token-id lists.
            JsonElementKinds.Array => prompt.ElementCount > 0 && (scanner.IsArrayOf(Prompt, JsonElementKinds.String) || scanner.IsArrayOf(Prompt, JsonElementKinds.Number) || scanner.IsArrayOf(Prompt, JsonElementKinds.Array)),
            _ => false,
        };
    }
}
