using Runtime.Plugins;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Prefix;
using Runtime.Scheduling.Scorers;

namespace Runtime.Scheduling.Framework;

/// <summary>
/// A plugin that refers to other plugins (a profile handler's decider, a decider's prefix producer). The
/// scheduler wires it once every plugin exists, so the references may point anywhere in <c>plugins</c>.
/// </summary>
internal interface ISchedulerWiring : IPlugin
{
    void Wire(SchedulerWiringContext context);
}

/// <summary>What <see cref="ISchedulerWiring.Wire"/> sees; problems go to <see cref="Errors"/>.</summary>
internal sealed class SchedulerWiringContext(IReadOnlyDictionary<string, IPlugin> plugins, List<ApproxPrefixCacheProducer> producers, List<string> errors)
{
    public IReadOnlyDictionary<string, IPlugin> Plugins { get; } = plugins;

    public List<string> Errors { get; } = errors;

    /// <summary>
    /// The prefix producer a consumer without a named one reads, as llm-d's default PrefixCacheMatchInfo
    /// producer: the first declared one, else the first prefix scorer's, else a new default one that then
    /// records every pick like a declared one.
    /// </summary>
    public ApproxPrefixCacheProducer DefaultPrefixProducer(string consumer)
    {
        if (producers.Count > 0)
        {
            return producers[0];
        }

        if (Plugins.Values.OfType<PrefixCacheScorer>().FirstOrDefault() is { } scorer)
        {
            return scorer.Producer;
        }

        var created = new ApproxPrefixCacheProducer(consumer, new PrefixCacheScorerParameters());
        producers.Add(created);
        return created;
    }
}
