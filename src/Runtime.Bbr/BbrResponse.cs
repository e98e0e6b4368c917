using System.Buffers;
using Runtime.BodyParsing;

namespace Runtime.Bbr;

/// <summary>
/// What response processors see when the response ends: the final JSON body (non-streaming) or
/// the last SSE event's JSON payload, with a helper to read token usage from it.
/// </summary>
public sealed class BbrResponse
{
    private readonly TokenUsageReader _usage = new();

    /// <summary>The JSON payload: whole body, or the last SSE <c>data:</c> event before <c>[DONE]</c>.</summary>
    public ReadOnlySequence<byte> FinalJson { get; internal set; }

    public bool IsEventStream { get; internal set; }

    /// <summary>Reads OpenAI (<c>prompt_tokens</c>/<c>completion_tokens</c>) or Responses API (<c>input_tokens</c>/<c>output_tokens</c>) usage.</summary>
    public bool TryReadUsage(out TokenUsage usage) => _usage.TryRead(FinalJson, out usage);
}
