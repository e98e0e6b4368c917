using System.Text.Json.Serialization;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>Parameters of <c>prefix-cache-scorer</c> (names and defaults as in the Go project).</summary>
/// <remarks>
/// Defaults live in constructor parameters: the JSON source generator resets init-only properties
/// absent from the input to default(T), losing initializers (dotnet/runtime#84484), but honours
/// constructor parameter defaults.
/// </remarks>
public sealed record PrefixCacheScorerParameters(bool AutoTune = true)
{
    public const int DefaultBlockSizeTokens = 16;
    public const int DefaultMaxPrefixBlocksToMatch = 256;
    public const int DefaultLruCapacityPerServer = 31_250;

    /// <summary>Size the per-endpoint index from the server's reported GPU block count when it reports one.</summary>
    [JsonPropertyName("autoTune")]
    public bool AutoTune { get; init; } = AutoTune;

    /// <summary>Prompt block size in tokens (4 characters each) for prefix hashing; 0 means the default.</summary>
    [JsonPropertyName("blockSizeTokens")]
    public int BlockSizeTokens { get; init; }

    /// <summary>Legacy block size in characters; replaced by <see cref="BlockSizeTokens"/>.</summary>
    [JsonPropertyName("blockSize")]
    public int? BlockSize { get; init; }

    /// <summary>Legacy name of the block size in older releases; has no effect.</summary>
    [JsonPropertyName("hashBlockSize")]
    public int? HashBlockSize { get; init; }

    /// <summary>Longest prefix considered, in blocks; 0 means the default.</summary>
    [JsonPropertyName("maxPrefixBlocksToMatch")]
    public int MaxPrefixBlocksToMatch { get; init; }

    /// <summary>Index entries kept per endpoint; 0 means the default.</summary>
    [JsonPropertyName("lruCapacityPerServer")]
    public int LruCapacityPerServer { get; init; }

    [JsonIgnore]
    public int EffectiveBlockSizeTokens => BlockSizeTokens > 0 ? BlockSizeTokens : DefaultBlockSizeTokens;

    [JsonIgnore]
    public int EffectiveMaxPrefixBlocksToMatch => MaxPrefixBlocksToMatch > 0 ? MaxPrefixBlocksToMatch : DefaultMaxPrefixBlocksToMatch;

    [JsonIgnore]
    public int EffectiveLruCapacityPerServer => LruCapacityPerServer > 0 ? LruCapacityPerServer : DefaultLruCapacityPerServer;

    internal static void Rules(PrefixCacheScorerParameters p, string path, ValidationErrors errors)
    {
        NotNegative(p.BlockSizeTokens, "blockSizeTokens", path, errors);
        NotNegative(p.MaxPrefixBlocksToMatch, "maxPrefixBlocksToMatch", path, errors);
        NotNegative(p.LruCapacityPerServer, "lruCapacityPerServer", path, errors);

        // The Go plugin refuses a config that sets only the legacy character-based size.
        if (p.BlockSize is > 0 && p.BlockSizeTokens <= 0)
        {
            errors.Report(FieldPath.Field(path, "blockSize"), "blockSize (characters) was replaced by blockSizeTokens (tokens); set blockSizeTokens instead");
        }
        else if (p.BlockSize is not null)
        {
            errors.Warn(FieldPath.Field(path, "blockSize"), "ignored: blockSizeTokens is set and takes precedence");
        }

        if (p.HashBlockSize is not null)
        {
            errors.Warn(FieldPath.Field(path, "hashBlockSize"), "has no effect (a setting of older releases); use blockSizeTokens");
        }
    }

    private static void NotNegative(int value, string field, string path, ValidationErrors errors)
    {
        if (value < 0)
        {
            errors.Report(FieldPath.Field(path, field), $"must not be negative, got {value} (0 means the default)");
        }
    }
}
