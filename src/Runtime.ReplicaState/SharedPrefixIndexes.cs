using Runtime.Scheduling.Prefix;

namespace Runtime.ReplicaState;

/// <summary>The prefix indexes a plugin graph routes with, by the name of the producer that owns each.</summary>
internal static class SharedPrefixIndexes
{
    public static IEnumerable<(string Name, PrefixIndex Index)> Of(IEnumerable<object> plugins)
    {
        foreach (var plugin in plugins)
        {
            switch (plugin)
            {
                case ApproxPrefixCacheProducer producer:
                    yield return (producer.Name, producer.Index);
                    break;
                case Runtime.Scheduling.Scorers.PrefixCacheScorer scorer:
                    yield return (scorer.Producer.Name, scorer.Index);
                    break;
            }
        }
    }
}
