using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Scheduling.Framework;

namespace Runtime.Scheduling.Scorers;

/// <summary>
/// <c>token-load-scorer</c> (GIE v1.5.0): 1 − min(in-flight tokens, threshold) / threshold, so an idle
/// endpoint scores 1 and one at or over <c>queueThresholdTokens</c> scores 0. In-flight tokens are what
/// the request path counts from the pick until the response ends (see <see cref="InflightLoadProducer"/>).
/// </summary>
internal sealed class TokenLoadScorer(string name, long thresholdTokens) : IScorer
{
    public string TypeName => BuiltInPlugins.TokenLoadScorer;

    public string Name { get; } = name;

    public long ThresholdTokens { get; } = thresholdTokens;

    public void Score(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, Span<double> scores)
    {
        var threshold = (double)ThresholdTokens;
        for (var i = 0; i < candidates.Length; i++)
        {
            var tokens = Math.Max(0, candidates[i].InFlightTokens);
            scores[i] = 1 - (Math.Min(tokens, threshold) / threshold);
        }
    }
}

/// <summary>
/// <c>inflight-load-producer</c> (GIE v1.5.0): in-flight requests and tokens per endpoint, counted from
/// the pick until the response stream ends, moved to the endpoint Envoy reports as served, and dropped
/// with an endpoint that leaves the pool. The request path keeps these counts on every endpoint
/// whether or not this plugin is declared (concurrency-detector and token-load-scorer read them); the
/// plugin is accepted so GIE configs that declare it serve unchanged.
/// </summary>
internal sealed class InflightLoadProducer(string name) : Runtime.Plugins.IPlugin
{
    public string TypeName => BuiltInPlugins.InflightLoadProducer;

    public string Name { get; } = name;
}
