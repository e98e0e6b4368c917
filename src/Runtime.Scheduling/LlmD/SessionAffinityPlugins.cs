using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;

namespace Runtime.Scheduling.LlmD;

/// <summary><c>session-affinity-scorer</c> (llm-d v0.10, Alpha): 1 for the endpoint the session is pinned to, 0 for the others (see <see cref="SessionAffinity"/>).</summary>
internal sealed class SessionAffinityScorer(string name, SessionAffinityParameters parameters, TimeProvider time) : IScorer, IPreRequest, IResponseHeaderWriter
{
    public SessionAffinity Affinity { get; } = new(parameters, time);

    public string TypeName => BuiltInPlugins.SessionAffinityScorer;

    public string Name { get; } = name;

    public ReadOnlySpan<byte> HeaderName => Affinity.Header;

    public void Score(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, Span<double> scores)
    {
        scores.Clear();
        if (Affinity.Find(context, request, candidates) is >= 0 and var pinned)
        {
            scores[pinned] = 1.0;
        }
    }

    public void PreRequest(SchedulingContext context, SchedulingRequest request, SchedulingResult result) => Affinity.PreRequest(context, request, result);

    public int WriteValue(SchedulingResult result, EndpointState served, Span<byte> destination) => Affinity.WriteToken(result, served, destination);
}

/// <summary><c>session-affinity-filter</c> (llm-d v0.10, Alpha): keeps only the pinned endpoint when it is a candidate, all candidates otherwise.</summary>
internal sealed class SessionAffinityFilter(string name, SessionAffinityParameters parameters, TimeProvider time) : IFilter, IPreRequest, IResponseHeaderWriter
{
    public SessionAffinity Affinity { get; } = new(parameters, time);

    public string TypeName => BuiltInPlugins.SessionAffinityFilter;

    public string Name { get; } = name;

    public ReadOnlySpan<byte> HeaderName => Affinity.Header;

    public int Filter(SchedulingContext context, SchedulingRequest request, Span<EndpointState> candidates)
    {
        if (Affinity.Find(context, request, candidates) is not (>= 0 and var pinned))
        {
            return candidates.Length;
        }

        candidates[0] = candidates[pinned];
        return 1;
    }

    public void PreRequest(SchedulingContext context, SchedulingRequest request, SchedulingResult result) => Affinity.PreRequest(context, request, result);

    public int WriteValue(SchedulingResult result, EndpointState served, Span<byte> destination) => Affinity.WriteToken(result, served, destination);
}
