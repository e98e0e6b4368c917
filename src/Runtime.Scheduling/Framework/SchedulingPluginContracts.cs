using Runtime.Endpoints;
using Runtime.Plugins;

namespace Runtime.Scheduling.Framework;

/// <summary>Drops candidates that must not take the request (e.g. an endpoint over its concurrency limit).</summary>
public interface IFilter : IPlugin
{
    /// <summary>Moves the kept candidates to the front of <paramref name="candidates"/> (order kept) and returns how many there are.</summary>
    int Filter(SchedulingContext context, SchedulingRequest request, Span<EndpointState> candidates);
}

/// <summary>
/// Rates each candidate in [0, 1] (higher is better). The profile multiplies by the scorer's weight and
/// sums: total = Σ weight × clamp(score, 0, 1); NaN counts as 0.
/// </summary>
public interface IScorer : IPlugin
{
    /// <summary>Writes one score per candidate into <paramref name="scores"/> (same length, same order).</summary>
    void Score(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, Span<double> scores);
}

/// <summary>Chooses the primary endpoint and up to <see cref="MaxNumOfEndpoints"/> − 1 distinct fallbacks.</summary>
public interface IPicker : IPlugin
{
    int MaxNumOfEndpoints { get; }

    /// <summary>
    /// Adds min(<see cref="MaxNumOfEndpoints"/>, candidates) distinct endpoints to <paramref name="result"/>, best first.
    /// <paramref name="scores"/> are the weighted totals; the picker may overwrite them (they are scratch).
    /// </summary>
    void Pick(SchedulingContext context, ReadOnlySpan<EndpointState> candidates, Span<double> scores, SchedulingResult result);
}

/// <summary>Decides which scheduling profiles run for a request and which result is the request's.</summary>
public interface IProfileHandler : IPlugin
{
    /// <summary>Null when the handler can run these profiles, otherwise why not (reported when the scheduler is built).</summary>
    string? Validate(IReadOnlyList<SchedulingProfile> profiles);

    void Schedule(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, IReadOnlyList<SchedulingProfile> profiles, SchedulingResult result);
}

/// <summary>
/// Runs after the pick, before the request is sent (GIE's <c>PreRequest</c> extension point), on the
/// scheduling thread: e.g. the prefix cache records that the picked endpoint now holds the prompt.
/// </summary>
public interface IPreRequest : IPlugin
{
    void PreRequest(SchedulingContext context, SchedulingRequest request, SchedulingResult result);
}
