using System.Text;
using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;

namespace Runtime.Scheduling.LlmD;

/// <summary>
/// <c>header-profile-handler</c> (llm-d v0.10, Alpha): runs the one scheduling profile the request header
/// <c>headerName</c> (default <c>EPP-Profile</c>, trimmed) names, or <c>defaultProfile</c> (default
/// <c>decode</c>) when the header is absent or blank; with a single profile configured, that one always
/// runs. A name that is no configured profile fails scheduling (HTTP 429, as llm-d's scheduling error).
/// </summary>
internal sealed class HeaderProfileHandler : IProfileHandler
{
    private readonly byte[] _header;
    private readonly byte[] _defaultProfile;

    public HeaderProfileHandler(string name, HeaderProfileHandlerParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Name = name;
        HeaderName = parameters.EffectiveHeaderName;
        DefaultProfile = parameters.EffectiveDefaultProfile;
        _header = Encoding.UTF8.GetBytes(HeaderName);
        _defaultProfile = Encoding.UTF8.GetBytes(DefaultProfile);
    }

    public string TypeName => BuiltInPlugins.HeaderProfileHandler;

    public string Name { get; }

    public string HeaderName { get; }

    public string DefaultProfile { get; }

    public string? Validate(IReadOnlyList<SchedulingProfile> profiles) =>
        profiles.Count > 0 ? null : "needs at least one scheduling profile";

    public void Schedule(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, IReadOnlyList<SchedulingProfile> profiles, SchedulingResult result)
    {
        if (profiles.Count == 1)
        {
            profiles[0].Run(context, request, candidates, result);
            return;
        }

        ReadOnlySpan<byte> wanted = _defaultProfile;
        if (request.Headers is { } headers && headers.TryGetValue(_header, out var value) && value.Trim(" \t"u8) is { IsEmpty: false } named)
        {
            wanted = named;
        }

        Span<char> chars = stackalloc char[256];
        if (wanted.Length <= chars.Length && Encoding.UTF8.TryGetChars(wanted, chars, out var length))
        {
            var profileName = chars[..length];
            foreach (var profile in profiles)
            {
                if (profileName.SequenceEqual(profile.Name))
                {
                    profile.Run(context, request, candidates, result);
                    return;
                }
            }
        }

        result.Status = SchedulingStatus.AllFiltered;
    }
}
