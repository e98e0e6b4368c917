using System.Buffers;

namespace Runtime.Scheduling;

/// <summary>
/// One request as the scheduler sees it. The request path owns one per stream and refills it for
/// each request (no allocation); the byte sequences point into the request body and are valid only
/// during <see cref="IScheduler.Schedule"/>.
/// </summary>
public sealed class SchedulingRequest
{
    /// <summary>The model the server will see (after rewrites): a base model or a LoRA adapter name. Empty when the request had no body.</summary>
    public string TargetModel { get; set; } = string.Empty;

    /// <summary>
    /// The prompt as raw UTF-8 JSON value bytes, for prefix hashing: the <c>messages</c> array for chat,
    /// <c>prompt</c> for completions, <c>input</c> / <c>items</c> for the others. Empty when there is none.
    /// </summary>
    public ReadOnlySequence<byte> Prompt { get; set; }

    /// <summary>The <c>cache_salt</c> string's raw bytes (empty when absent); it seeds the prefix hash chain.</summary>
    public ReadOnlySequence<byte> CacheSalt { get; set; }

    /// <summary>Priority from the request's objective (0 by default); negative means sheddable.</summary>
    public int Priority { get; set; }

    public bool Streaming { get; set; }

    /// <summary>Request body size in bytes (the flow-control size and a token estimate: bytes / 4).</summary>
    public long BodyBytes { get; set; }

    /// <summary>The request's headers, for plugins that route on them (valid only during scheduling).</summary>
    public IRequestHeaders? Headers { get; set; }

    public void Reset()
    {
        Headers = null;
        TargetModel = string.Empty;
        Prompt = default;
        CacheSalt = default;
        Priority = 0;
        Streaming = false;
        BodyBytes = 0;
    }
}

/// <summary>Read access to a request's headers (names lower-case, values raw bytes).</summary>
public interface IRequestHeaders
{
    bool TryGetValue(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value);
}
