using Runtime.Endpoints;

namespace Runtime.Scheduling;

/// <summary>
/// Chooses endpoints for a request from the candidates (the current snapshot, already narrowed to
/// the gateway's subset hint). Thread-safe; allocates nothing per request in steady state.
/// </summary>
public interface IScheduler
{
    /// <summary>Fills <paramref name="result"/> (reset by the caller) and updates per-pick state such as the prefix index.</summary>
    void Schedule(SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, SchedulingResult result);

    /// <summary>The metrics its plugins read, so the scraper extracts only those.</summary>
    MetricKinds RequiredMetrics { get; }
}
