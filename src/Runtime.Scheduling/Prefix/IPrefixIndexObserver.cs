using Runtime.Endpoints;

namespace Runtime.Scheduling.Prefix;

/// <summary>Hears what a <see cref="PrefixIndex"/> learns locally, e.g. to share it with the pool's other replicas.</summary>
internal interface IPrefixIndexObserver
{
    /// <summary>
    /// <paramref name="endpoint"/> was sent the blocks of <paramref name="hashes"/>. Called on the request
    /// path after the pick: copy what is needed and return; never block or do I/O.
    /// </summary>
    void Added(EndpointState endpoint, ReadOnlySpan<ulong> hashes, int capacityPerEndpoint);
}
