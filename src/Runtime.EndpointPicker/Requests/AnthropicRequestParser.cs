using System.Buffers;
using Runtime.BodyParsing;

namespace Runtime.EndpointPicker.Requests;

/// <summary>
/// <c>anthropic-parser</c> (llm-d v0.10): the Anthropic Messages API, <c>/v1/messages</c>. Reads
/// <c>model</c> (optional, as in llm-d), <c>stream</c>, and the prompt for prefix affinity from
/// <c>system</c> and <c>messages</c> (their raw JSON, system first); at least one message is required.
/// <c>/v1/messages/count_tokens</c> bodies are forwarded unread. One parser per stream; the prompt of a
/// request with a system part is joined in a buffer the parser keeps for the next request.
/// </summary>
internal sealed class AnthropicRequestParser
{
    internal const int Model = 0;
    private const int Messages = 1;
    private const int System = 2;
    private const int Stream = 3;

    // Model first: the shared model reading and rewriting address field 0 of whichever scanner parsed the body.
    private static readonly JsonFieldSet Fields = new("model", "messages", "system", "stream");

    private readonly ArrayBufferWriter<byte> _prompt = new(256);

    public JsonBodyScanner Scanner { get; } = new(Fields);

    /// <summary>Whether <paramref name="path"/> is the token-counting endpoint, which llm-d forwards without parsing.</summary>
    public static bool IsCountTokens(ReadOnlySpan<byte> path)
    {
        var query = path.IndexOfAny((byte)'?', (byte)'#');
        return (query >= 0 ? path[..query] : path).TrimEnd((byte)'/').EndsWith("/messages/count_tokens"u8);
    }

    /// <summary>Scans and validates; on failure <paramref name="error"/> is the text of the 400.</summary>
    public bool TryParse(in ReadOnlySequence<byte> body, out string error)
    {
        var scanner = Scanner;
        if (scanner.Scan(body) != JsonBodyStatus.Ok)
        {
            error = scanner.StatusText;
            return false;
        }

        if (scanner[Model].IsPresent && scanner[Model].Kind != JsonElementKinds.String)
        {
            error = "error parsing messages request: model must be a string";
            return false;
        }

        if (scanner[Messages].IsPresent && scanner[Messages].Kind != JsonElementKinds.Array)
        {
            error = "error parsing messages request: messages must be an array";
            return false;
        }

        if (!scanner.IsNonEmptyArray(Messages))
        {
            error = "invalid messages request: must have at least one message";
            return false;
        }

        error = string.Empty;
        return true;
    }

    public bool HasModel => Scanner[Model].IsPresent && Scanner[Model].ValueLength > 2;

    /// <summary>llm-d streams only for <c>"stream": true</c>; any other value is not streaming.</summary>
    public bool IsStreaming => Scanner.TryGetBoolean(Stream, out var stream) && stream;

    /// <summary>The prompt hashed for prefix reuse: the raw <c>system</c> value (when present) followed by the raw <c>messages</c>.</summary>
    public ReadOnlySequence<byte> PromptBytes()
    {
        var messages = Scanner.GetRawValue(Messages);
        if (!Scanner[System].IsPresent)
        {
            return messages;
        }

        _prompt.ResetWrittenCount();
        Append(Scanner.GetRawValue(System));
        Append(messages);
        return new ReadOnlySequence<byte>(_prompt.WrittenMemory);
    }

    private void Append(in ReadOnlySequence<byte> bytes)
    {
        foreach (var segment in bytes)
        {
            _prompt.Write(segment.Span);
        }
    }
}

/// <summary>
/// <c>vllmhttp-parser</c> (llm-d v0.10): vLLM's token-in HTTP API, <c>/inference/v1/generate</c>. Requires a
/// non-empty <c>token_ids</c> array (the prompt for prefix affinity); <c>model</c> is optional, <c>stream</c>
/// as in OpenAI bodies. Responses are read as OpenAI responses, as llm-d does.
/// </summary>
internal sealed class VllmHttpRequestParser
{
    internal const int Model = 0;
    private const int TokenIds = 1;
    private const int Stream = 2;

    private static readonly JsonFieldSet Fields = new("model", "token_ids", "stream");

    public JsonBodyScanner Scanner { get; } = new(Fields);

    public bool TryParse(in ReadOnlySequence<byte> body, out string error)
    {
        var scanner = Scanner;
        if (scanner.Scan(body) != JsonBodyStatus.Ok)
        {
            error = scanner.StatusText;
            return false;
        }

        if (scanner[Model].IsPresent && scanner[Model].Kind != JsonElementKinds.String)
        {
            error = "invalid generate request: model must be a string";
            return false;
        }

        if (!scanner.IsNonEmptyArray(TokenIds) || !scanner.IsArrayOf(TokenIds, JsonElementKinds.Number))
        {
            error = "invalid generate request: must have non-empty token_ids field";
            return false;
        }

        error = string.Empty;
        return true;
    }

    public bool HasModel => Scanner[Model].IsPresent && Scanner[Model].ValueLength > 2;

    public bool IsStreaming => Scanner.TryGetBoolean(Stream, out var stream) && stream;

    public ReadOnlySequence<byte> PromptBytes() => Scanner.GetRawValue(TokenIds);
}
