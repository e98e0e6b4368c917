using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Runtime.Endpoints;

namespace Runtime.ReplicaState;

/// <summary>The endpoint side of <see cref="ReplicaStateSync"/>: this replica's load, endpoint lookup by name, and the log lines.</summary>
internal sealed partial class ReplicaStateSync
{
    private List<EndpointLoad> LocalLoad()
    {
        var load = new List<EndpointLoad>();
        foreach (var state in _store.Current.Endpoints)
        {
            var requests = state.LocalInFlightRequests;
            var tokens = state.LocalInFlightTokens;
            if (requests != 0 || tokens != 0)
            {
                load.Add(new EndpointLoad(state.Endpoint.Name, requests, tokens));
            }
        }

        return load;
    }

    /// <summary><c>runtime_replica_state_endpoint_in_flight_requests</c>: each endpoint's count, this replica's and the others'.</summary>
    private IEnumerable<Measurement<long>> ObserveInFlight()
    {
        foreach (var state in _store.Current.Endpoints)
        {
            var endpoint = new KeyValuePair<string, object?>("endpoint", state.Endpoint.Name);
            yield return new Measurement<long>(state.LocalInFlightRequests, endpoint, new KeyValuePair<string, object?>("layer", "local"));
            yield return new Measurement<long>(state.RemoteInFlightRequests, endpoint, new KeyValuePair<string, object?>("layer", "remote"));
        }
    }

    private static bool SameLoad(List<EndpointLoad> a, List<EndpointLoad> b) => a.SequenceEqual(b);

    private Dictionary<string, EndpointState> EndpointsByName()
    {
        var snapshot = _store.Current;
        if (_names.Version != snapshot.Version)
        {
            _names = (snapshot.Version, snapshot.Endpoints.ToDictionary(e => e.Endpoint.Name, StringComparer.Ordinal));
        }

        return _names.ByName;
    }

    private static partial class Log
    {
        [LoggerMessage(5200, LogLevel.Information, "Replica state: connected to {Target} as replica {Replica}; sharing stream {Stream} (prefix indexes: {Indexes}; in-flight load; fairness usage: {Fairness})")]
        public static partial void Connected(ILogger logger, string target, string replica, string stream, string indexes, string fairness);

        [LoggerMessage(5201, LogLevel.Warning, "Replica state: Redis at {Target} is unreachable ({Reason}); routing on this replica's local state until it is back")]
        public static partial void Unreachable(ILogger logger, string target, string reason);

        [LoggerMessage(5202, LogLevel.Information, "Replica state: reconnected to {Target}; resynchronising (republishing this replica's load and {Blocks} recent prefix blocks)")]
        public static partial void Reconnected(ILogger logger, string target, int blocks);

        [LoggerMessage(5203, LogLevel.Warning, "Replica state: entry {Id} of {Stream} is not one this build understands ({Reason}); skipping such entries")]
        public static partial void BadEntry(ILogger logger, string id, string stream, string reason);

        [LoggerMessage(5205, LogLevel.Warning, "Replica state: an unexpected reply from {Target} ({Type}: {Reason}); this batch is skipped and such errors are counted, not logged again")]
        public static partial void BadReply(ILogger logger, string target, string type, string reason);

        [LoggerMessage(5204, LogLevel.Error, "Replica state: the Redis client refused {Target}: {Reason}; routing on local state only")]
        public static partial void ClientFailed(ILogger logger, string target, string reason);
    }
}
