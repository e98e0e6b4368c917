using Runtime.Endpoints;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.Prefix;

namespace Runtime.Scheduling.Disaggregation;

/// <summary>Decides, after the decode pick, whether a request gets a separate prefill (llm-d's deciderPlugin).</summary>
internal interface IDisaggDecider : IPlugin
{
    /// <param name="decode">The endpoint the decode profile picked.</param>
    /// <param name="candidates">The request's candidates (for the prefix producer's block size).</param>
    bool Disaggregate(SchedulingContext context, SchedulingRequest request, EndpointState decode, ReadOnlySpan<EndpointState> candidates);
}

/// <summary><c>always-disagg-pd-decider</c>: every request gets a separate prefill.</summary>
internal sealed class AlwaysDisaggPdDecider(string name) : IDisaggDecider
{
    public string TypeName => DisaggregationCatalog.AlwaysDisaggPdDecider;

    public string Name { get; } = name;

    public bool Disaggregate(SchedulingContext context, SchedulingRequest request, EndpointState decode, ReadOnlySpan<EndpointState> candidates) => true;
}

/// <summary>
/// <c>prefix-based-pd-decider</c>: disaggregates when the prompt is long enough (<c>promptTokens</c>, when set,
/// and <c>nonCachedTokens</c>) and the part of it the decode endpoint does not hold in its prefix cache is at
/// least <c>nonCachedTokens</c>. <c>nonCachedTokens: 0</c> never disaggregates.
/// </summary>
/// <remarks>
/// Token counts: llm-d counts the TokenizedPrompt's tokens, which without a configured token producer come
/// from its auto-created <c>estimate</c> backend (4 bytes of prompt per token, rounded up). This build has no
/// token producer, so it estimates the same way over the prompt bytes the approx prefix producer hashes
/// (4 bytes per token). The cached part is matched blocks × block size, from the prefix producer llm-d's
/// decider reads: the named one (pd-profile-handler's <c>prefixMatchInfoProducerName</c>), else the default.
/// </remarks>
internal sealed class PrefixBasedPdDecider(string name, PrefixBasedPdDeciderParameters parameters) : IDisaggDecider, ISchedulerWiring
{
    private ApproxPrefixCacheProducer? _producer;

    public string TypeName => DisaggregationCatalog.PrefixBasedPdDecider;

    public string Name { get; } = name;

    public int NonCachedTokens { get; } = parameters.NonCachedTokens;

    public int PromptTokens { get; } = parameters.PromptTokens;

    internal ApproxPrefixCacheProducer? Producer => _producer;

    /// <summary>Binds the prefix producer whose matches it reads (once, while the scheduler is built).</summary>
    public void UseProducer(ApproxPrefixCacheProducer producer) => _producer ??= producer;

    /// <summary>Without a named producer (bound earlier by its handler), reads the default one.</summary>
    public void Wire(SchedulerWiringContext context) => UseProducer(context.DefaultPrefixProducer(Name));

    public static int EstimateTokens(long promptBytes) => (int)Math.Min(int.MaxValue, (promptBytes + ApproxPrefixCacheProducer.CharactersPerToken - 1) / ApproxPrefixCacheProducer.CharactersPerToken);

    public bool Disaggregate(SchedulingContext context, SchedulingRequest request, EndpointState decode, ReadOnlySpan<EndpointState> candidates)
    {
        if (NonCachedTokens == 0 || _producer is null)
        {
            return false;
        }

        var inputTokens = EstimateTokens(request.Prompt.Length);
        if ((PromptTokens > 0 && inputTokens < PromptTokens) || inputTokens < NonCachedTokens)
        {
            return false;
        }

        var state = _producer.Prepare(context, request, candidates);
        Span<double> matched = stackalloc double[1];
        _producer.Match(context, state, new ReadOnlySpan<EndpointState>(in decode), matched);
        var cachedTokens = (long)matched[0] * state.BlockSizeTokens;
        return inputTokens - cachedTokens >= NonCachedTokens;
    }
}
