using System.Text;
using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.Prefix;

namespace Runtime.Scheduling.Disaggregation;

/// <summary>
/// <c>disagg-profile-handler</c> (and its deprecated alias <c>pd-profile-handler</c>), after llm-d v0.10.
/// Decode-first (default): runs the decode profile; if that picked, asks the prefill decider with the decode
/// pick, and when it says yes runs the prefill profile. Prefill-first: runs the prefill profile when it is
/// configured, then decode. The decode pick is the request's destination; the prefill pick is recorded in
/// <see cref="SchedulingResult.Prefill"/> and sent to the decode pod's sidecar as <c>x-prefiller-host-port</c>
/// (host:port). A client's own <c>x-prefiller-host-port</c> is removed, as llm-d clears it.
/// </summary>
internal sealed class DisaggProfileHandler(string name, string typeName, DisaggSettings settings) : IProfileHandler, ISchedulerWiring
{
    internal static readonly byte[] PrefillHeader = Encoding.ASCII.GetBytes(DisaggregationCatalog.PrefillHeader);
    internal static readonly byte[] DataParallelHeader = Encoding.ASCII.GetBytes(DisaggregationCatalog.DataParallelHeader);

    private IDisaggDecider? _decider;

    public string TypeName { get; } = typeName;

    public string Name { get; } = name;

    public DisaggSettings Settings { get; } = settings;

    internal IDisaggDecider? Decider => _decider;

    public string? Validate(IReadOnlyList<SchedulingProfile> profiles)
    {
        // llm-d answers every request with "failed to find available decode workers" here; we say so at load.
        if (!profiles.Any(p => p.Name == Settings.DecodeProfile))
        {
            var names = string.Join(", ", profiles.Select(p => $"\"{p.Name}\""));
            return $"needs a scheduling profile named \"{Settings.DecodeProfile}\" (its decode profile), but the profiles are {names}";
        }

        return null;
    }

    public void Wire(SchedulerWiringContext context)
    {
        var deciderName = Settings.PrefillDecider;
        if (deciderName.Length == 0)
        {
            return;
        }

        if (!context.Plugins.TryGetValue(deciderName, out var plugin))
        {
            context.Errors.Add($"plugins: profile handler \"{Name}\": deciders.prefill plugin not found: {deciderName}");
            return;
        }

        if (plugin is not IDisaggDecider decider)
        {
            context.Errors.Add($"plugins: profile handler \"{Name}\": plugin {deciderName} does not implement prefillDeciderPlugin");
            return;
        }

        _decider = decider;
        if (Settings.PrefixMatchInfoProducerName is { Length: > 0 } producerName && decider is PrefixBasedPdDecider prefixDecider)
        {
            if (context.Plugins.TryGetValue(producerName, out var named) && named is ApproxPrefixCacheProducer producer)
            {
                prefixDecider.UseProducer(producer);
            }
            else
            {
                context.Errors.Add($"plugins: profile handler \"{Name}\": prefixMatchInfoProducerName \"{producerName}\" is not an {BuiltInPlugins.ApproxPrefixCacheProducer} plugin");
            }
        }
    }

    public void Schedule(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, IReadOnlyList<SchedulingProfile> profiles, SchedulingResult result)
    {
        var decode = Find(profiles, Settings.DecodeProfile);
        var prefill = Find(profiles, Settings.PrefillProfile);
        if (decode is null)
        {
            result.Status = SchedulingStatus.NoEndpoints;
            return;
        }

        EndpointState? prefillPick = null;
        if (Settings.StageOrder == DisaggStageOrder.PrefillFirst)
        {
            if (prefill is not null)
            {
                prefillPick = RunStage(context, request, candidates, prefill);
            }

            if (decode.Run(context, request, candidates, result) != SchedulingStatus.Picked)
            {
                return;
            }
        }
        else
        {
            if (decode.Run(context, request, candidates, result) != SchedulingStatus.Picked)
            {
                return;
            }

            if (prefill is not null && _decider is not null && _decider.Disaggregate(context, request, result.Primary, candidates))
            {
                prefillPick = RunStage(context, request, candidates, prefill);
            }
        }

        result.RemoveHeader(PrefillHeader);
        if (prefillPick is not null)
        {
            result.Prefill = prefillPick;
            result.PrefillProfile = Settings.PrefillProfile;
            result.SetHeader(PrefillHeader, prefillPick.Endpoint.HostPortUtf8);
        }

        if (Settings.PrimaryPort != 0)
        {
            // pd-profile-handler's deprecated data-parallel mode: the rank goes in a header, the request to the primary port.
            result.SetHeader(DataParallelHeader, result.Primary.Endpoint.HostPortUtf8);
            result.DestinationPort = Settings.PrimaryPort;
        }
    }

    /// <summary>Runs an extra stage into the context's scratch result; its primary pick, or null when it picked nothing (llm-d then goes on without it).</summary>
    private static EndpointState? RunStage(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, SchedulingProfile profile)
    {
        var stage = context.StageResult();
        try
        {
            return profile.Run(context, request, candidates, stage) == SchedulingStatus.Picked ? stage.Primary : null;
        }
        finally
        {
            stage.Reset();
        }
    }

    private static SchedulingProfile? Find(IReadOnlyList<SchedulingProfile> profiles, string name)
    {
        for (var i = 0; i < profiles.Count; i++)
        {
            if (profiles[i].Name == name)
            {
                return profiles[i];
            }
        }

        return null;
    }
}

/// <summary>
/// <c>data-parallel-profile-handler</c> (llm-d, deprecated there): runs the single profile; the pick is one rank
/// of a pod (an endpoint on that rank's port). Its host:port goes in <c>x-data-parallel-host-port</c> and the
/// request is sent to <c>primaryPort</c> on the same host, where llm-d's sidecar forwards it to the rank.
/// <c>primaryPort: 0</c> keeps the rank's own port (llm-d would send to port 0).
/// </summary>
internal sealed class DataParallelProfileHandler(string name, int primaryPort) : IProfileHandler
{
    public string TypeName => DisaggregationCatalog.DataParallelProfileHandler;

    public string Name { get; } = name;

    public int PrimaryPort { get; } = primaryPort;

    public string? Validate(IReadOnlyList<SchedulingProfile> profiles) =>
        profiles.Count == 1 ? null : $"requires exactly one scheduling profile (Data Parallel), but {profiles.Count} are configured";

    public void Schedule(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, IReadOnlyList<SchedulingProfile> profiles, SchedulingResult result)
    {
        if (profiles[0].Run(context, request, candidates, result) != SchedulingStatus.Picked)
        {
            return;
        }

        result.SetHeader(DisaggProfileHandler.DataParallelHeader, result.Primary.Endpoint.HostPortUtf8);
        result.DestinationPort = PrimaryPort;
    }
}

/// <summary>
/// <c>disagg-headers-handler</c> / <c>prefill-header-handler</c> (deprecated in llm-d): after the pick, sets
/// <c>x-prefiller-host-port</c> from its prefill profile's pick. The disagg handler already does, so this only
/// repeats it when the profile names agree (and does nothing when they do not, as llm-d finds no such result).
/// </summary>
internal sealed class DisaggHeadersHandler(string name, string typeName, string prefillProfile) : IPreRequest, ISchedulerWiring
{
    private bool _matches;

    public string TypeName { get; } = typeName;

    public string Name { get; } = name;

    public void Wire(SchedulerWiringContext context) =>
        _matches = context.Plugins.Values.OfType<DisaggProfileHandler>().Any(h => h.Settings.PrefillProfile == prefillProfile);

    public void PreRequest(SchedulingContext context, SchedulingRequest request, SchedulingResult result)
    {
        if (_matches && result.Prefill is { } prefill)
        {
            result.SetHeader(DisaggProfileHandler.PrefillHeader, prefill.Endpoint.HostPortUtf8);
        }
    }
}
