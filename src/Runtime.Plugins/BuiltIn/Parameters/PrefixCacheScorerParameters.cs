using System.Text.Json.Serialization;
using Runtime.Plugins.Validation;
using Runtime.Plugins.Values;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>
/// Parameters of <c>prefix-cache-scorer</c> and <c>approx-prefix-cache-producer</c> (names, defaults and
/// rules of GIE v1.5.0's approximate prefix producer, to which GIE's scorer forwards its parameters),
/// plus llm-d v0.10's scorer fields.
/// </summary>
/// <remarks>
/// Defaults live in constructor parameters: the JSON source generator resets init-only properties
/// absent from the input to default(T), losing initializers (dotnet/runtime#84484), but honours
/// constructor parameter defaults.
/// </remarks>
internal sealed record PrefixCacheScorerParameters(
    bool AutoTune = true,
    int BlockSizeTokens = PrefixCacheScorerParameters.DefaultBlockSizeTokens,
    int MaxPrefixBlocksToMatch = PrefixCacheScorerParameters.DefaultMaxPrefixBlocksToMatch,
    int LruCapacityPerServer = PrefixCacheScorerParameters.DefaultLruCapacityPerServer)
{
    public const int DefaultBlockSizeTokens = 16;
    public const int DefaultMaxPrefixBlocksToMatch = 256;
    public const int DefaultLruCapacityPerServer = 31_250;

    /// <summary>Take the block size from the first candidate's reported cache block size, and each endpoint's index size from its GPU block count, when reported.</summary>
    [JsonPropertyName("autoTune")]
    public bool AutoTune { get; init; } = AutoTune;

    /// <summary>Prompt block size in tokens (4 characters each) for prefix hashing. Must be positive when autoTune is off.</summary>
    [JsonPropertyName("blockSizeTokens")]
    public int BlockSizeTokens { get; init; } = BlockSizeTokens;

    /// <summary>Deprecated block size in characters: an error when blockSizeTokens is not positive, otherwise ignored (as GIE v1.5.0).</summary>
    [JsonPropertyName("blockSize")]
    public int? BlockSize { get; init; }

    /// <summary>Name of the block size in releases before GIE v1.0; has no effect.</summary>
    [JsonPropertyName("hashBlockSize")]
    public int? HashBlockSize { get; init; }

    /// <summary>Longest prefix considered, in blocks (the prompt is cut to this many blocks before hashing).</summary>
    [JsonPropertyName("maxPrefixBlocksToMatch")]
    public int MaxPrefixBlocksToMatch { get; init; } = MaxPrefixBlocksToMatch;

    /// <summary>Longest prefix considered, in tokens; when positive it wins: blocks = this / block size.</summary>
    [JsonPropertyName("maxPrefixTokensToMatch")]
    public int MaxPrefixTokensToMatch { get; init; }

    /// <summary>
    /// Index entries per endpoint when autoTune finds no GPU block count. GIE v1.5.0 passes it to its
    /// index but then sizes every server with the built-in 31,250; we honour the configured value.
    /// </summary>
    [JsonPropertyName("lruCapacityPerServer")]
    public int LruCapacityPerServer { get; init; } = LruCapacityPerServer;

    /// <summary>llm-d v0.10: which producer's match information the scorer reads (we build one producer per name).</summary>
    [JsonPropertyName("prefixMatchInfoProducerName")]
    public string? PrefixMatchInfoProducerName { get; init; }

    /// <summary>llm-d v0.10: weight in [0, 1] of the absolute match length against the match ratio (0 = ratio only).</summary>
    [JsonPropertyName("matchLengthWeight")]
    public double MatchLengthWeight { get; init; }

    /// <summary>llm-d v0.10: matched tokens that count as a full-length match (default 8192).</summary>
    [JsonPropertyName("matchLengthScaleTokens")]
    public int? MatchLengthScaleTokens { get; init; }

    /// <summary>
    /// Ours (neither GIE nor llm-d has it): the memory budget of the producer's prefix index over all
    /// endpoints, a quantity such as <c>256Mi</c> (the default) or a byte count. Each remembered block
    /// accounts 64 bytes; each endpoint gets at most an equal share of the budget (and at most its
    /// per-endpoint capacity), and past it an endpoint's oldest blocks make room for new ones.
    /// </summary>
    [JsonPropertyName("indexMaxBytes")]
    public Quantity? IndexMaxBytes { get; init; }

    /// <summary>The index budget in bytes (the default 256 MiB when not set).</summary>
    [JsonIgnore]
    public long EffectiveIndexMaxBytes => IndexMaxBytes?.Value ?? DefaultIndexMaxBytes;

    /// <summary>256 MiB: about 4.2 million blocks, e.g. 134 endpoints at the default 31,250 each.</summary>
    public const long DefaultIndexMaxBytes = 256L << 20;

    /// <summary>Accounted bytes per remembered block (the index's own bookkeeping).</summary>
    public const long IndexBytesPerEntry = 64;

    /// <summary>The effective block cap for a block size in tokens.</summary>
    public int MaxBlocksFor(int blockSizeTokens) =>
        MaxPrefixTokensToMatch > 0 && blockSizeTokens > 0 ? MaxPrefixTokensToMatch / blockSizeTokens : MaxPrefixBlocksToMatch;

    internal static void Rules(PrefixCacheScorerParameters p, string path, ValidationErrors errors)
    {
        // The same checks, in the same order, as GIE's approximate prefix producer.
        if (p.BlockSize is > 0 && p.BlockSizeTokens <= 0)
        {
            errors.Report(FieldPath.Field(path, "blockSize"), $"blockSize ({p.BlockSize}, in characters) is deprecated; set blockSizeTokens (the cache block size in tokens) instead");
        }
        else if (p.BlockSize is not null)
        {
            errors.Warn(FieldPath.Field(path, "blockSize"), $"ignored: blockSize is deprecated and blockSizeTokens ({p.BlockSizeTokens}) sets the block size, as in GIE v1.5.0");
        }

        if (!p.AutoTune && p.BlockSizeTokens <= 0)
        {
            errors.Report(FieldPath.Field(path, "blockSizeTokens"), $"must be > 0 when autoTune is disabled, got {p.BlockSizeTokens}");
        }

        if (p.MaxPrefixTokensToMatch < 0)
        {
            errors.Report(FieldPath.Field(path, "maxPrefixTokensToMatch"), $"must be >= 0, got {p.MaxPrefixTokensToMatch}");
        }

        if (p.MaxPrefixBlocksToMatch < 0)
        {
            errors.Report(FieldPath.Field(path, "maxPrefixBlocksToMatch"), $"must be >= 0, got {p.MaxPrefixBlocksToMatch}");
        }

        if (p.LruCapacityPerServer <= 0)
        {
            errors.Report(FieldPath.Field(path, "lruCapacityPerServer"), $"must be positive, got {p.LruCapacityPerServer}");
        }

        if (p.IndexMaxBytes is { } budget && budget.Value < IndexBytesPerEntry)
        {
            errors.Report(FieldPath.Field(path, "indexMaxBytes"), $"must be at least {IndexBytesPerEntry} bytes (one index entry), got {budget}");
        }

        if (p.HashBlockSize is not null)
        {
            errors.Warn(FieldPath.Field(path, "hashBlockSize"), "ignored: a setting of releases before GIE v1.0; use blockSizeTokens");
        }

        if (p.MatchLengthWeight is < 0 or > 1 || double.IsNaN(p.MatchLengthWeight))
        {
            errors.Report(FieldPath.Field(path, "matchLengthWeight"), $"must be between 0 and 1, got {p.MatchLengthWeight}");
        }

        if (p.MatchLengthWeight > 0 && p.MatchLengthScaleTokens is <= 0)
        {
            errors.Report(FieldPath.Field(path, "matchLengthScaleTokens"), $"must be positive when matchLengthWeight is set, got {p.MatchLengthScaleTokens}");
        }
    }
}
