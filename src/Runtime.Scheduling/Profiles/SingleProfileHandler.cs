using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Scheduling.Framework;

namespace Runtime.Scheduling.Profiles;

/// <summary><c>single-profile-handler</c>: runs the one configured profile; its result is the request's.</summary>
internal sealed class SingleProfileHandler(string name) : IProfileHandler
{
    public string TypeName => BuiltInPlugins.SingleProfileHandler;

    public string Name { get; } = name;

    public string? Validate(IReadOnlyList<SchedulingProfile> profiles) =>
        profiles.Count == 1 ? null : $"runs exactly one scheduling profile, but {profiles.Count} are configured";

    public void Schedule(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, IReadOnlyList<SchedulingProfile> profiles, SchedulingResult result) =>
        profiles[0].Run(context, request, candidates, result);
}
