using System.Buffers;
using System.Text.Json;

namespace Runtime.Configuration.Validation;

/// <summary>
/// llm-d v0.10's defaults of <c>approx-prefix-cache-producer</c> that differ from GIE v1.5.0's:
/// <c>maxPrefixBlocksToMatch</c> 2048 (GIE 256) and <c>maxPrefixTokensToMatch</c> 131072 (GIE 0).
/// Under an llm-d configuration (<c>apiVersion: llm-d.ai/v1alpha1</c>) the loader writes them into the
/// producer's parameters when absent, so the effective configuration shows them.
/// </summary>
internal static class LlmDPrefixProducerDefaults
{
    public const int MaxPrefixBlocksToMatch = 2048;
    public const int MaxPrefixTokensToMatch = 131_072;

    public static JsonElement Apply(JsonElement? parameters)
    {
        var hasObject = parameters is { ValueKind: JsonValueKind.Object };
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            var hasBlocks = false;
            var hasTokens = false;
            if (hasObject)
            {
                foreach (var property in parameters!.Value.EnumerateObject())
                {
                    hasBlocks |= property.NameEquals("maxPrefixBlocksToMatch");
                    hasTokens |= property.NameEquals("maxPrefixTokensToMatch");
                    property.WriteTo(writer);
                }
            }

            if (!hasBlocks)
            {
                writer.WriteNumber("maxPrefixBlocksToMatch", MaxPrefixBlocksToMatch);
            }

            if (!hasTokens)
            {
                writer.WriteNumber("maxPrefixTokensToMatch", MaxPrefixTokensToMatch);
            }

            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }
}
