namespace Runtime.EndpointPicker.Requests;

/// <summary>The OpenAI-style APIs the parser knows, chosen by the <c>:path</c> suffix (query string ignored).</summary>
public enum InferenceApi
{
    /// <summary>Any other path: only <c>model</c> is read.</summary>
    Other,
    ChatCompletions,
    Completions,
    Responses,
    Conversations,
    Embeddings,
}

internal static class InferenceApiPaths
{
    public static InferenceApi Classify(ReadOnlySpan<byte> path)
    {
        var query = path.IndexOfAny((byte)'?', (byte)'#');
        if (query >= 0)
        {
            path = path[..query];
        }

        path = path.TrimEnd((byte)'/');
        if (path.EndsWith("/chat/completions"u8))
        {
            return InferenceApi.ChatCompletions;
        }

        if (path.EndsWith("/completions"u8))
        {
            return InferenceApi.Completions;
        }

        if (path.EndsWith("/responses"u8))
        {
            return InferenceApi.Responses;
        }

        if (path.EndsWith("/conversations"u8))
        {
            return InferenceApi.Conversations;
        }

        return path.EndsWith("/embeddings"u8) ? InferenceApi.Embeddings : InferenceApi.Other;
    }
}
