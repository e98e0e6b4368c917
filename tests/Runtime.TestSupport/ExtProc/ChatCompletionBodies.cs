using System.Text;

namespace Runtime.TestSupport.ExtProc;

/// <summary>
/// OpenAI chat-completions request bodies of an exact byte size. The layout matches
/// perf/load/make-exchange.py byte for byte, so load files and test bodies agree.
/// </summary>
public static class ChatCompletionBodies
{
    public const string DefaultModel = "meta-llama/Llama-3.1-8B-Instruct";

    private const string Filler = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ";
    private const string Suffix = "\"}],\"max_tokens\":128,\"stream\":true}";

    /// <summary>The smallest body <see cref="Create"/> can produce for <paramref name="model"/>.</summary>
    public static int MinimumBytes(string model = DefaultModel) => Prefix(model).Length + Suffix.Length;

    /// <summary>A JSON chat-completions request of exactly <paramref name="totalBytes"/> bytes (ASCII).</summary>
    public static byte[] Create(int totalBytes, string model = DefaultModel)
    {
        var prefix = Prefix(model);
        var fill = totalBytes - prefix.Length - Suffix.Length;
        if (fill < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(totalBytes), totalBytes, $"At least {MinimumBytes(model)} bytes are needed.");
        }

        var text = new StringBuilder(totalBytes).Append(prefix);
        for (var i = 0; i < fill; i++)
        {
            text.Append(Filler[i % Filler.Length]);
        }

        return Encoding.ASCII.GetBytes(text.Append(Suffix).ToString());
    }

    private static string Prefix(string model) =>
        "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant.\"},"
        + "{\"role\":\"user\",\"content\":\"";
}
