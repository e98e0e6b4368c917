using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.Prefix;

namespace Runtime.Scheduling.Scorers;

/// <summary>
/// <c>prefix-cache-scorer</c>: the share of the prompt's leading blocks the endpoint probably has in its
/// KV cache (matched leading blocks / total blocks), from an <see cref="ApproxPrefixCacheProducer"/>.
/// Until <see cref="UseProducer"/> binds a declared producer, the scorer runs its own, built from its
/// parameters (GIE v1.5.0 forwards the scorer's parameters to the producer it creates).
/// With llm-d's <c>matchLengthWeight</c> w: score = w × min(1, matched tokens / scale)² + (1 − w) × ratio.
/// </summary>
internal sealed class PrefixCacheScorer : IScorer, IPreRequest, IMetricsConsumer, IPrefixMatchConsumer
{
    private readonly double _lengthWeight;
    private readonly double _lengthScaleTokens;
    private ApproxPrefixCacheProducer _producer;
    private bool _ownsProducer = true;

    public PrefixCacheScorer(string name, PrefixCacheScorerParameters parameters, PrefixIndex? index = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Name = name;
        ProducerName = parameters.PrefixMatchInfoProducerName;
        _lengthWeight = parameters.MatchLengthWeight;
        _lengthScaleTokens = parameters.MatchLengthScaleTokens is > 0 and var scale ? scale : 8192;
        _producer = new ApproxPrefixCacheProducer(name, parameters, index, BuiltInPlugins.PrefixCacheScorer);
    }

    public string TypeName => BuiltInPlugins.PrefixCacheScorer;

    public string Name { get; }

    /// <summary>llm-d's <c>prefixMatchInfoProducerName</c>: the producer to read, when several are declared.</summary>
    public string? ProducerName { get; }

    public ApproxPrefixCacheProducer Producer => _producer;

    public PrefixIndex Index => _producer.Index;

    public MetricKinds RequiredMetrics => _producer.RequiredMetrics;

    /// <summary>Reads a declared producer instead of its own (called once, while the scheduler is built).</summary>
    public void UseProducer(ApproxPrefixCacheProducer producer)
    {
        _producer = producer;
        _ownsProducer = false;
    }

    public void Score(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, Span<double> scores)
    {
        var state = _producer.Prepare(context, request, candidates);
        var total = (double)_producer.Match(context, state, candidates, scores);
        if (total == 0)
        {
            return;
        }

        double longest = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            var matched = scores[i];
            longest = Math.Max(longest, matched);
            var ratio = matched / total;
            if (_lengthWeight > 0)
            {
                var length = Math.Min(1.0, matched * state.BlockSizeTokens / _lengthScaleTokens);
                scores[i] = (_lengthWeight * length * length) + ((1.0 - _lengthWeight) * ratio);
            }
            else
            {
                scores[i] = ratio;
            }
        }

        // As GIE: the longest match over the candidates, in bytes, against the whole hashed prefix.
        var blockBytes = (long)state.BlockSizeTokens * ApproxPrefixCacheProducer.CharactersPerToken;
        SchedulingMetrics.PrefixMatched(this, (long)longest * blockBytes, state.Count * blockBytes);
    }

    public void PreRequest(SchedulingContext context, SchedulingRequest request, SchedulingResult result)
    {
        // A shared producer records the pick itself (the scheduler runs it once, not once per scorer).
        if (_ownsProducer)
        {
            _producer.PreRequest(context, request, result);
        }
    }
}
