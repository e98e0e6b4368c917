using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;

namespace Runtime.Scheduling.Prefix;

/// <summary>
/// <c>approx-prefix-cache-producer</c>: hashes the prompt into blocks once per request and matches the
/// chain against a per-endpoint index of the blocks each endpoint was sent; after the pick it records
/// the new blocks of the primary endpoint (and of the prefill endpoint, when the request was disaggregated). Prefix scorers and filters read its matches. Blocks are
/// <c>blockSizeTokens</c> × 4 bytes of the prompt (with autoTune, the first candidate's reported cache
/// block size), at most <c>maxPrefixBlocksToMatch</c> (or <c>maxPrefixTokensToMatch</c> / block size),
/// hashed as a chain seeded with the target model and <c>cache_salt</c>. The index holds at most
/// <c>indexMaxBytes</c> (default 256 MiB) over all endpoints.
/// </summary>
internal sealed class ApproxPrefixCacheProducer : IPreRequest, IMetricsConsumer
{
    internal const int CharactersPerToken = 4;

    private readonly PrefixCacheScorerParameters _parameters;
    private readonly int _capacityPerEndpoint;

    public ApproxPrefixCacheProducer(string name, PrefixCacheScorerParameters parameters, PrefixIndex? index = null, string typeName = BuiltInPlugins.ApproxPrefixCacheProducer)
    {
        Name = name;
        TypeName = typeName;
        _parameters = parameters;
        _capacityPerEndpoint = parameters.LruCapacityPerServer > 0 ? parameters.LruCapacityPerServer : PrefixCacheScorerParameters.DefaultLruCapacityPerServer;
        Index = index ?? new PrefixIndex(parameters.EffectiveIndexMaxBytes);
    }

    public string TypeName { get; }

    public string Name { get; }

    public PrefixIndex Index { get; }

    public MetricKinds RequiredMetrics => _parameters.AutoTune ? MetricKinds.CacheInfo : MetricKinds.None;

    /// <summary>
    /// The request's block hashes and block size, computed on first use in this scheduling run and then
    /// reused by every scorer and filter that reads this producer.
    /// </summary>
    internal PrefixRequestState Prepare(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates)
    {
        var state = context.PrefixState(this);
        if (state.Stamp == context.RequestStamp)
        {
            return state;
        }

        // GIE takes the block size from the first candidate: a pool's servers share one configuration.
        var blockTokens = _parameters.BlockSizeTokens > 0 ? _parameters.BlockSizeTokens : PrefixCacheScorerParameters.DefaultBlockSizeTokens;
        if (_parameters.AutoTune && candidates.Length > 0 && candidates[0].Metrics.CacheBlockSize is > 0 and var tokens)
        {
            blockTokens = tokens;
        }

        var maxBlocks = Math.Max(0, _parameters.MaxBlocksFor(blockTokens));
        if (state.Hashes.Length < maxBlocks)
        {
            state.Hashes = new ulong[maxBlocks];
        }

        var scratch = state.Scratch;
        state.Count = maxBlocks == 0 ? 0 : PrefixHasher.Hash(request.Prompt, request.TargetModel, request.CacheSalt, blockTokens * CharactersPerToken, state.Hashes.AsSpan(0, maxBlocks), ref scratch);
        state.Scratch = scratch;
        state.BlockSizeTokens = blockTokens;
        state.Stamp = context.RequestStamp;
        return state;
    }

    /// <summary>Writes each candidate's matched leading block count into <paramref name="matched"/>; returns the request's total block count.</summary>
    internal int Match(SchedulingContext context, PrefixRequestState state, ReadOnlySpan<EndpointState> candidates, Span<double> matched)
    {
        if (state.Count == 0)
        {
            matched.Clear();
            return 0;
        }

        if (state.Sets.Length < candidates.Length)
        {
            state.Sets = new EndpointPrefixSet?[Math.Max(candidates.Length, state.Sets.Length * 2)];
        }

        Index.Match(state.Hashes.AsSpan(0, state.Count), candidates, matched, context.Indexes(candidates.Length), state.Sets.AsSpan(0, candidates.Length));
        return state.Count;
    }

    public void PreRequest(SchedulingContext context, SchedulingRequest request, SchedulingResult result)
    {
        var state = context.PrefixState(this);
        if (state.Stamp != context.RequestStamp || state.Count == 0 || result.Count == 0)
        {
            return;
        }

        Record(result.Primary, state);

        // As llm-d: in P/D the prefill endpoint computed the prompt's KV blocks too.
        if (result.Prefill is { } prefill && !ReferenceEquals(prefill, result.Primary))
        {
            Record(prefill, state);
        }

        SchedulingMetrics.PrefixIndexSize(this, Index.Entries);
    }

    private void Record(EndpointState endpoint, PrefixRequestState state)
    {
        var capacity = _parameters.AutoTune && endpoint.Metrics.CacheGpuBlocks > 0 ? (int)Math.Min(endpoint.Metrics.CacheGpuBlocks, int.MaxValue) : _capacityPerEndpoint;
        Index.Add(endpoint, state.Hashes.AsSpan(0, state.Count), capacity);
    }
}
