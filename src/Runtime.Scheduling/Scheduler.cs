using System.Diagnostics;
using Runtime.Configuration.Model;
using Runtime.Endpoints;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Scheduling.Disaggregation;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.Pickers;
using Runtime.Scheduling.Prefix;
using Runtime.Scheduling.Scorers;
using Runtime.Scheduling.Profiles;

namespace Runtime.Scheduling;

/// <summary>The scheduler built from a configuration, or every reason it could not be built.</summary>
internal sealed record SchedulerBuildResult(IScheduler? Scheduler, IReadOnlyList<string> Errors)
{
    public bool IsValid => Scheduler is not null && Errors.Count == 0;
}

/// <summary>
/// Runs the profile handler over the configured profiles, then the pre-request plugins (prefix index
/// update). Immutable after construction and thread-safe; per-request scratch comes from a per-thread
/// <see cref="SchedulingContext"/>, so a steady-state request allocates nothing.
/// </summary>
internal sealed class Scheduler : IScheduler
{
    private readonly IProfileHandler _handler;
    private readonly SchedulingProfile[] _profiles;
    private readonly IPreRequest[] _preRequest;

    /// <param name="producers">Plugins outside the profiles that run around every pick (data producers), as GIE attaches every plugin to its request-control hooks.</param>
    public Scheduler(IProfileHandler handler, IReadOnlyList<SchedulingProfile> profiles, IEnumerable<IPlugin>? producers = null)
    {
        _handler = handler;
        _profiles = [.. profiles];
        var plugins = profiles.SelectMany(p => p.Filters.Cast<IPlugin>().Concat(p.Scorers.Select(s => s.Scorer)).Append(p.Picker)).Append(handler).Concat(producers ?? []).Distinct().ToArray();
        _preRequest = plugins.OfType<IPreRequest>().ToArray();
        RequiredMetrics = plugins.OfType<IMetricsConsumer>().Aggregate(MetricKinds.None, (all, p) => all | p.RequiredMetrics);
    }

    public IReadOnlyList<SchedulingProfile> Profiles => _profiles;

    public IProfileHandler ProfileHandler => _handler;

    public MetricKinds RequiredMetrics { get; }

    public void Schedule(SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, SchedulingResult result)
    {
        if (candidates.IsEmpty)
        {
            result.Status = SchedulingStatus.NoEndpoints;
            return;
        }

        var context = SchedulingContext.Current;
        context.BeginRequest();
        _handler.Schedule(context, request, candidates, _profiles, result);
        if (result.Status != SchedulingStatus.Picked)
        {
            return;
        }

        foreach (var plugin in _preRequest)
        {
            var started = Stopwatch.GetTimestamp();
            plugin.PreRequest(context, request, result);
            SchedulingMetrics.PluginRan(SchedulingMetrics.PreRequest, plugin, started);
        }
    }

    /// <summary>
    /// Builds the scheduler of an effective configuration (defaults applied, see the loader) from its
    /// activated plugins. Follows GIE: a profile without a picker gets <c>max-score-picker</c>; one profile
    /// without a handler gets <c>single-profile-handler</c>; an unweighted scorer weighs 1. Every problem
    /// is reported, each naming the profile and the reference.
    /// </summary>
    public static SchedulerBuildResult Create(EndpointPickerConfig effectiveConfig, IReadOnlyDictionary<string, IPlugin> plugins)
    {
        ArgumentNullException.ThrowIfNull(effectiveConfig);
        ArgumentNullException.ThrowIfNull(plugins);
        var errors = new List<string>();
        var profiles = new List<SchedulingProfile>();
        if (effectiveConfig.SchedulingProfiles.Count == 0)
        {
            errors.Add("schedulingProfiles: no scheduling profile is configured");
        }

        for (var p = 0; p < effectiveConfig.SchedulingProfiles.Count; p++)
        {
            var profile = BuildProfile(effectiveConfig.SchedulingProfiles[p], $"schedulingProfiles[{p}]", plugins, errors);
            if (profile is not null)
            {
                profiles.Add(profile);
            }
        }

        var handlers = plugins.Values.OfType<IProfileHandler>().ToArray();
        IProfileHandler? handler = handlers.Length switch
        {
            0 when profiles.Count == 1 => new SingleProfileHandler(BuiltInPlugins.SingleProfileHandler),
            1 => handlers[0],
            _ => null,
        };
        if (handler is null)
        {
            errors.Add(handlers.Length == 0
                ? $"plugins: {effectiveConfig.SchedulingProfiles.Count} scheduling profiles need a profile handler plugin"
                : $"plugins: only one profile handler may be configured, found {string.Join(", ", handlers.Select(h => $"\"{h.Name}\""))}");
        }
        else if (errors.Count == 0 && handler.Validate(profiles) is { } problem)
        {
            errors.Add($"plugins: profile handler \"{handler.Name}\" ({handler.TypeName}) {problem}");
        }

        var producers = WirePrefixProducers(plugins, errors).ToList();

        // Cross-plugin references (a handler's decider, a decider's producer): handlers first, so their named choices win.
        var wiring = new SchedulerWiringContext(plugins, producers, errors);
        foreach (var plugin in plugins.Values.OfType<ISchedulerWiring>().OrderBy(p => p is IProfileHandler ? 0 : 1))
        {
            plugin.Wire(wiring);
        }

        var hooks = producers.Cast<IPlugin>().Concat(plugins.Values.OfType<DisaggHeadersHandler>());
        return errors.Count == 0 ? new SchedulerBuildResult(new Scheduler(handler!, profiles, hooks), errors) : new SchedulerBuildResult(null, errors);
    }

    /// <summary>
    /// Binds each prefix scorer (and no-hit-lru-scorer) to the declared producer it reads (llm-d's <c>prefixMatchInfoProducerName</c>,
    /// else the first declared <c>approx-prefix-cache-producer</c>); with none declared a scorer keeps its own.
    /// Returns the declared producers, which record every pick.
    /// </summary>
    private static ApproxPrefixCacheProducer[] WirePrefixProducers(IReadOnlyDictionary<string, IPlugin> plugins, List<string> errors)
    {
        var producers = plugins.Values.OfType<ApproxPrefixCacheProducer>().ToArray();
        foreach (var scorer in plugins.Values.OfType<IPrefixMatchConsumer>())
        {
            if (scorer.ProducerName is { Length: > 0 } wanted)
            {
                if (plugins.TryGetValue(wanted, out var named) && named is ApproxPrefixCacheProducer producer)
                {
                    scorer.UseProducer(producer);
                }
                else
                {
                    errors.Add($"plugins: prefix scorer \"{scorer.Name}\" reads producer \"{wanted}\", which is not an {BuiltInPlugins.ApproxPrefixCacheProducer} plugin");
                }
            }
            else if (producers.Length > 0)
            {
                scorer.UseProducer(producers[0]);
            }
        }

        return producers;
    }

    private static SchedulingProfile? BuildProfile(SchedulingProfileConfig config, string path, IReadOnlyDictionary<string, IPlugin> plugins, List<string> errors)
    {
        var name = string.IsNullOrEmpty(config.Name) ? "default" : config.Name;
        var before = errors.Count;
        var filters = new List<IFilter>();
        var scorers = new List<WeightedScorer>();
        IPicker? picker = null;
        for (var i = 0; i < config.Plugins.Count; i++)
        {
            var reference = config.Plugins[i];
            var at = $"{path}.plugins[{i}]";
            if (reference.PluginRef is not { Length: > 0 } pluginRef || !plugins.TryGetValue(pluginRef, out var plugin))
            {
                errors.Add($"{at}.pluginRef: profile \"{name}\" refers to \"{reference.PluginRef}\", which is not an active plugin");
                continue;
            }

            if (plugin is IFilter filter)
            {
                filters.Add(filter);
            }

            if (plugin is IScorer scorer)
            {
                var weight = reference.Weight ?? 1.0;
                if (!double.IsFinite(weight) || weight < 0)
                {
                    errors.Add($"{at}.weight: must be a finite number ≥ 0, got {weight}");
                }

                scorers.Add(new WeightedScorer(scorer, weight));
            }

            if (plugin is IPicker p)
            {
                if (picker is not null)
                {
                    errors.Add($"{at}.pluginRef: profile \"{name}\" has two pickers (\"{picker.Name}\" and \"{p.Name}\"); a profile has one");
                }

                picker = p;
            }

            // Anything else (a parser, a producer, a response hook) is ignored here, as GIE's loader does;
            // the configuration validator has already warned about it. It still runs in its own role.
        }

        // GIE's loader gives a profile without a picker the max-score picker.
        picker ??= new MaxScorePicker(BuiltInPlugins.MaxScorePicker);
        return errors.Count == before ? new SchedulingProfile(name, filters, scorers, picker) : null;
    }
}
