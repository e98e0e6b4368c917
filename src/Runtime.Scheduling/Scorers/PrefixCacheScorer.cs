using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.Prefix;

namespace Runtime.Scheduling.Scorers;

/// <summary>
/// <c>prefix-cache-scorer</c>: the share of the prompt's leading blocks the endpoint probably has in its
/// KV cache (matched leading blocks / total blocks). Blocks are <c>blockSizeTokens</c> × 4 bytes of the
/// prompt (with autoTune, the server's reported cache block size × 4), at most
/// <c>maxPrefixBlocksToMatch</c>, hashed as a chain seeded with the target model and <c>cache_salt</c>.
/// After the pick the primary endpoint's index is updated with the request's blocks.
/// </summary>
public sealed class PrefixCacheScorer : IScorer, IPreRequest, IMetricsConsumer
{
    private const int CharactersPerToken = 4;

    private readonly int _blockBytes;
    private readonly int _maxBlocks;
    private readonly int _capacityPerEndpoint;
    private readonly bool _autoTune;

    public PrefixCacheScorer(string name, PrefixCacheScorerParameters parameters, PrefixIndex? index = null)
    {
        Name = name;
        _autoTune = parameters.AutoTune;
        _blockBytes = parameters.EffectiveBlockSizeTokens * CharactersPerToken;
        _maxBlocks = parameters.EffectiveMaxPrefixBlocksToMatch;
        _capacityPerEndpoint = parameters.EffectiveLruCapacityPerServer;
        Index = index ?? new PrefixIndex();
    }

    public string TypeName => BuiltInPlugins.PrefixCacheScorer;

    public string Name { get; }

    public PrefixIndex Index { get; }

    public MetricKinds RequiredMetrics => _autoTune ? MetricKinds.CacheInfo : MetricKinds.None;

    public void Score(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, Span<double> scores)
    {
        var state = context.PrefixState(this);
        if (state.Hashes.Length < _maxBlocks)
        {
            state.Hashes = new ulong[_maxBlocks];
        }

        // GIE takes the block size from the first candidate: a pool's servers share one configuration.
        var blockBytes = _blockBytes;
        if (_autoTune && candidates.Length > 0 && candidates[0].Metrics.CacheBlockSize is > 0 and var tokens)
        {
            blockBytes = tokens * CharactersPerToken;
        }

        var scratch = state.Scratch;
        state.Count = PrefixHasher.Hash(request.Prompt, request.TargetModel, request.CacheSalt, blockBytes, state.Hashes.AsSpan(0, _maxBlocks), ref scratch);
        state.Scratch = scratch;
        state.Stamp = context.RequestStamp;
        if (state.Count == 0)
        {
            scores.Clear();
            return;
        }

        if (state.Sets.Length < candidates.Length)
        {
            state.Sets = new EndpointPrefixSet?[Math.Max(candidates.Length, state.Sets.Length * 2)];
        }

        Index.Match(state.Hashes.AsSpan(0, state.Count), candidates, scores, context.Indexes(candidates.Length), state.Sets.AsSpan(0, candidates.Length));
        var total = (double)state.Count;
        double longest = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            longest = Math.Max(longest, scores[i]);
            scores[i] /= total;
        }

        // As GIE: the longest match over the candidates, in bytes, against the whole hashed prefix.
        SchedulingMetrics.PrefixMatched(this, (long)longest * blockBytes, (long)state.Count * blockBytes);
    }

    public void PreRequest(SchedulingContext context, SchedulingRequest request, SchedulingResult result)
    {
        var state = context.PrefixState(this);
        if (state.Stamp != context.RequestStamp || state.Count == 0 || result.Count == 0)
        {
            return;
        }

        var primary = result.Primary;
        var capacity = _autoTune && primary.Metrics.CacheGpuBlocks > 0 ? (int)Math.Min(primary.Metrics.CacheGpuBlocks, int.MaxValue) : _capacityPerEndpoint;
        Index.Add(primary, state.Hashes.AsSpan(0, state.Count), capacity);
        SchedulingMetrics.PrefixIndexSize(this, Index.Entries);
    }
}
