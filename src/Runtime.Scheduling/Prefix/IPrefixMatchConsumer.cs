namespace Runtime.Scheduling.Prefix;

/// <summary>
/// A plugin that reads an approximate prefix producer's matches (prefix-cache-scorer, no-hit-lru-scorer).
/// The scheduler binds it to the declared producer named by <see cref="ProducerName"/> (llm-d's
/// <c>prefixMatchInfoProducerName</c>), else to the first declared one; with none declared it keeps its own.
/// </summary>
internal interface IPrefixMatchConsumer
{
    string Name { get; }

    string? ProducerName { get; }

    void UseProducer(ApproxPrefixCacheProducer producer);
}
