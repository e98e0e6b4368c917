using System.Buffers;

namespace Runtime.BodyParsing;

/// <summary>Token counts of one response.</summary>
/// <param name="HasPromptTokensDetails">The usage had a <c>prompt_tokens_details</c> object (GIE records cached tokens only then).</param>
public readonly record struct TokenUsage(long PromptTokens, long CompletionTokens, long CachedPromptTokens, bool HasPromptTokensDetails = false);

/// <summary>
/// Reads <c>usage</c> from a response's JSON (whole body or the last SSE event): OpenAI
/// (<c>prompt_tokens</c>/<c>completion_tokens</c>) or Responses API (<c>input_tokens</c>/<c>output_tokens</c>),
/// plus <c>prompt_tokens_details.cached_tokens</c>. One reader per stream; no allocation.
/// </summary>
public sealed class TokenUsageReader
{
    private static readonly JsonFieldSet s_top = new("usage");
    private static readonly JsonFieldSet s_usage = new("prompt_tokens", "completion_tokens", "input_tokens", "output_tokens", "prompt_tokens_details");
    private static readonly JsonFieldSet s_details = new("cached_tokens");

    private readonly JsonBodyScanner _top = new(s_top);
    private readonly JsonBodyScanner _usage = new(s_usage);
    private readonly JsonBodyScanner _details = new(s_details);

    public bool TryRead(in ReadOnlySequence<byte> json, out TokenUsage usage)
    {
        usage = default;
        if (json.IsEmpty || _top.Scan(json) != JsonBodyStatus.Ok || _top[0].Kind != JsonElementKinds.Object)
        {
            return false;
        }

        if (_usage.Scan(_top.GetRawValue(0)) != JsonBodyStatus.Ok)
        {
            return false;
        }

        long prompt = ReadInt(_usage, 0, 2);
        long completion = ReadInt(_usage, 1, 3);
        long cached = 0;
        var hasDetails = _usage[4].Kind == JsonElementKinds.Object && _details.Scan(_usage.GetRawValue(4)) == JsonBodyStatus.Ok;
        if (hasDetails)
        {
            _details.TryGetInt64(0, out cached);
        }

        usage = new TokenUsage(prompt, completion, cached, hasDetails);
        return true;
    }

    private static long ReadInt(JsonBodyScanner scanner, int openAi, int responses) =>
        scanner.TryGetInt64(openAi, out var value) || scanner.TryGetInt64(responses, out value) ? value : 0;
}
