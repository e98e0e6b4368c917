using Runtime.Configuration.Loading;
using Runtime.Configuration.Model;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Lifecycle;
using Runtime.Plugins.Registry;
using Runtime.Plugins.Validation;

namespace Runtime.Configuration.Validation;

/// <summary>
/// Semantic checks of a bound <see cref="EndpointPickerConfig"/> against the plugin registry:
/// header, feature gates, plugin types (unknown, removed, gated, below minimumStability,
/// deprecated), parameters, names, and every reference between sections. Collects all problems.
/// One file (~550 lines) on purpose: it mirrors GIE's loader rule by rule, in the loader's order,
/// so a rule can be checked against upstream by reading one file top to bottom.
/// </summary>
internal sealed class ConfigValidator(PluginRegistry registry, bool allowExperimentalPlugins = false)
{
    public ValidatedConfig Validate(EndpointPickerConfig config, ValidationErrors errors)
    {
        CheckHeader(config, errors);
        var gates = CheckFeatureGates(config, errors, out var explicitlyEnabled);
        var minimum = CheckMinimumStability(config, explicitlyEnabled, errors);
        var deprecated = new List<(string Path, DeclaredPlugin Plugin)>();
        var plugins = CheckPlugins(config, gates, minimum, errors, deprecated);
        var context = new References(plugins, errors);
        CheckProfiles(config, plugins, context, errors);
        CheckPrefixProducerReferences(config, plugins, errors);
        PluginReferenceCheck.Check(config, plugins, errors);
        CheckSaturationDetector(config, context, errors);
        CheckParser(config, context, errors);
        CheckDataLayer(config, gates, context, errors);
        CheckFlowControl(config, gates, context, errors);
        return new ValidatedConfig(gates, deprecated);
    }

    private static void CheckHeader(EndpointPickerConfig config, ValidationErrors errors)
    {
        if (string.IsNullOrEmpty(config.ApiVersion))
        {
            errors.Report("apiVersion", $"is required ({EndpointPickerConfig.GieApiVersion} or {EndpointPickerConfig.LlmDApiVersion})");
        }
        else if (config.ApiVersion is not (EndpointPickerConfig.GieApiVersion or EndpointPickerConfig.LlmDApiVersion))
        {
            errors.Report("apiVersion", $"unsupported apiVersion \"{config.ApiVersion}\"; expected {EndpointPickerConfig.GieApiVersion} or {EndpointPickerConfig.LlmDApiVersion}");
        }

        if (string.IsNullOrEmpty(config.Kind))
        {
            errors.Report("kind", $"is required ({EndpointPickerConfig.ConfigKind})");
        }
        else if (config.Kind != EndpointPickerConfig.ConfigKind)
        {
            errors.Report("kind", $"expected {EndpointPickerConfig.ConfigKind}, got \"{config.Kind}\"");
        }
    }

    private FeatureGateSet CheckFeatureGates(EndpointPickerConfig config, ValidationErrors errors, out List<(string Path, FeatureGate Gate)> explicitlyEnabled)
    {
        explicitlyEnabled = [];
        var settings = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var setting in config.FeatureGates?.Settings ?? [])
        {
            var path = "featureGates" + setting.PathSuffix;
            if (setting.Problem is not null)
            {
                errors.Report(path, setting.Problem);
                continue;
            }

            if (!registry.TryGetFeatureGate(setting.Name, out var gate))
            {
                var known = registry.FeatureGates.Select(g => g.Name).ToArray();
                errors.Report(path, $"unknown feature gate \"{setting.Name}\"{NameSuggestions.Hint(setting.Name, known)} (known gates: {string.Join(", ", known)})");
                continue;
            }

            if (gate.IsLocked && !setting.Enabled)
            {
                errors.Report(path, $"feature gate \"{gate.Name}\" is Stable and always on; remove it from featureGates");
                continue;
            }

            if (settings.TryGetValue(gate.Name, out var earlier) && earlier != setting.Enabled)
            {
                errors.Report(path, $"feature gate \"{gate.Name}\" is both enabled and disabled");
                continue;
            }

            settings[gate.Name] = setting.Enabled;
            if (gate.Name == BuiltInPlugins.DataLayerGate)
            {
                errors.Warn(path, $"feature gate \"{gate.Name}\" has no effect: the dataLayer section is always honoured (GIE v1.5.0 made this gate a no-op); remove it");
            }
            else if (gate.Name == BuiltInPlugins.HaPopulateNonLeaderDatastoreGate && !setting.Enabled)
            {
                errors.Warn(path, $"ignored: every replica keeps its endpoint datastore populated in this build, so \"{gate.Name}\" cannot be switched off");
            }

            if (setting.Enabled)
            {
                explicitlyEnabled.Add((path, gate));
            }
        }

        return registry.ResolveFeatureGates(settings);
    }

    private static StabilityLevel CheckMinimumStability(EndpointPickerConfig config, List<(string Path, FeatureGate Gate)> enabledGates, ValidationErrors errors)
    {
        if (config.MinimumStability is null)
        {
            return StabilityLevel.Deprecated;
        }

        if (!StabilityLevels.TryParse(config.MinimumStability, out var minimum))
        {
            errors.Report("minimumStability", $"must be one of {string.Join(", ", StabilityLevels.Names)}; got \"{config.MinimumStability}\"");
            return StabilityLevel.Deprecated;
        }

        foreach (var (path, gate) in enabledGates)
        {
            if (gate.Stability < minimum)
            {
                errors.Report(path, $"feature gate \"{gate.Name}\" is {gate.Stability}, below minimumStability {minimum}");
            }
        }

        return minimum;
    }

    private Dictionary<string, DeclaredPlugin> CheckPlugins(
        EndpointPickerConfig config, FeatureGateSet gates, StabilityLevel minimum, ValidationErrors errors, List<(string Path, DeclaredPlugin Plugin)> deprecated)
    {
        var declared = new Dictionary<string, DeclaredPlugin>(StringComparer.Ordinal);
        for (var i = 0; i < config.Plugins.Count; i++)
        {
            var spec = config.Plugins[i];
            var path = $"plugins[{i}]";
            var typePath = path + ".type";
            PluginRegistration? registration = null;
            if (string.IsNullOrEmpty(spec.Type))
            {
                errors.Report(typePath, "is required");
            }
            else if (registry.TryGetTombstone(spec.Type, out var tombstone))
            {
                errors.Report(typePath, tombstone.Describe());
            }
            else if (!registry.TryGet(spec.Type, out registration))
            {
                var known = registry.Registrations.Select(r => r.TypeName).ToArray();
                errors.Report(typePath, $"unknown plugin type \"{spec.Type}\"{NameSuggestions.Hint(spec.Type, known)} (`runtime plugins` lists the registered types)");
            }
            else if (registration.Unavailable is not null)
            {
                errors.Report(typePath, $"plugin type \"{spec.Type}\" is not available in this build: {registration.Unavailable}");
            }
            else
            {
                CheckUsable(spec, registration, gates, minimum, typePath, errors);
                if (registration.Stability == StabilityLevel.Alpha && !allowExperimentalPlugins)
                {
                    // llm-d v0.10's ValidatePluginStability, word for word.
                    errors.Report(typePath, $"plugin '{spec.EffectiveName}' (type: '{spec.Type}') has Alpha stability level, but command line flag --allow-experimental-plugins is not set");
                }

                registration.Parameters.Validate(spec.Parameters ?? default, path + ".parameters", errors);
            }

            var name = spec.EffectiveName;
            if (name.Length == 0)
            {
                continue;
            }

            var plugin = new DeclaredPlugin(name, i, registration);
            if (declared.TryGetValue(name, out var first))
            {
                var namePath = string.IsNullOrEmpty(spec.Name) ? path : path + ".name";
                var hint = string.IsNullOrEmpty(spec.Name) ? " (a plugin's name defaults to its type; give each instance its own name)" : string.Empty;
                errors.Report(namePath, $"duplicate plugin name \"{name}\", already used by {first.Path}{hint}");
                continue;
            }

            declared[name] = plugin;
            if (registration?.Stability == StabilityLevel.Deprecated)
            {
                deprecated.Add((typePath, plugin));
            }
        }

        CheckProfileHandlers(config, declared, errors);
        return declared;
    }

    private static void CheckUsable(PluginSpec spec, PluginRegistration registration, FeatureGateSet gates, StabilityLevel minimum, string typePath, ValidationErrors errors)
    {
        if ((registration.Kinds & PluginKinds.BodyBasedRouting) != 0)
        {
            errors.Report(typePath, $"plugin type \"{spec.Type}\" is {PluginKindNames.Describe(registration.Kinds)}; it belongs in the body-based router's configuration, not in EndpointPickerConfig");
            return;
        }

        if (!PluginRegistry.IsEnabled(registration, gates))
        {
            var action = registration.Stability == StabilityLevel.Alpha
                ? $"is Alpha and needs feature gate \"{registration.FeatureGate}\"; add it to featureGates"
                : $"is switched off by feature gate \"{registration.FeatureGate}\"";
            errors.Report(typePath, $"plugin type \"{spec.Type}\" {action}");
        }

        if (registration.Stability < minimum)
        {
            errors.Report(typePath, $"plugin type \"{spec.Type}\" is {registration.Stability}, below minimumStability {minimum}");
        }
    }

    /// <summary>One profile handler at most; single-profile-handler cannot run several profiles; several profiles need a handler.</summary>
    private static void CheckProfileHandlers(EndpointPickerConfig config, Dictionary<string, DeclaredPlugin> declared, ValidationErrors errors)
    {
        var handlers = declared.Values.Where(p => p.Is(PluginKinds.ProfileHandler)).OrderBy(p => p.Index).ToArray();
        foreach (var extra in handlers.Skip(1))
        {
            errors.Report(extra.Path + ".type", $"only one profile handler is allowed; \"{handlers[0].Name}\" ({handlers[0].Path}) is already one");
        }

        var profileCount = config.SchedulingProfiles.Count;
        if (profileCount <= 1)
        {
            return;
        }

        if (handlers.Length == 0)
        {
            errors.Report("schedulingProfiles", $"{profileCount} scheduling profiles need a profile handler that runs several; {BuiltInPlugins.SingleProfileHandler} (injected only for a single profile) runs one; declare a multi-profile handler such as disagg-profile-handler");
        }
        else if (handlers[0].Registration?.TypeName == BuiltInPlugins.SingleProfileHandler)
        {
            errors.Report(handlers[0].Path + ".type", $"{BuiltInPlugins.SingleProfileHandler} runs one scheduling profile, but {profileCount} are configured");
        }
    }

    private static void CheckProfiles(EndpointPickerConfig config, Dictionary<string, DeclaredPlugin> plugins, References references, ValidationErrors errors)
    {
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var anyPickerDeclared = plugins.Values.Any(p => p.Is(PluginKinds.Picker));
        for (var i = 0; i < config.SchedulingProfiles.Count; i++)
        {
            var profile = config.SchedulingProfiles[i];
            var path = $"schedulingProfiles[{i}]";
            if (string.IsNullOrEmpty(profile.Name))
            {
                errors.Report(path + ".name", "is required");
            }
            else if (!names.TryAdd(profile.Name, i))
            {
                errors.Report(path + ".name", $"duplicate scheduling profile name \"{profile.Name}\", already used by schedulingProfiles[{names[profile.Name]}]");
            }

            string? picker = null;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var j = 0; j < profile.Plugins.Count; j++)
            {
                var reference = profile.Plugins[j];
                var refPath = $"{path}.plugins[{j}]";
                var implicitPicker = anyPickerDeclared ? null : ConfigDefaultNames.Picker;
                var target = references.Resolve(reference.PluginRef, refPath + ".pluginRef", AnyKind, string.Empty, implicitPicker);
                if (target?.Registration is { } kind && (kind.Kinds & PluginKinds.SchedulingProfilePlugins) == 0)
                {
                    // GIE's loader silently skips a profile member that is not a filter, scorer or picker; it still runs in its own role.
                    errors.Warn(refPath + ".pluginRef", $"ignored in the profile: \"{target.Name}\" is {PluginKindNames.Describe(kind.Kinds)} ({kind.TypeName}), and a profile runs filters, scorers and pickers (the Go endpoint picker ignores it too)");
                    continue;
                }

                if (reference.PluginRef is { Length: > 0 } name && !seen.Add(name))
                {
                    errors.Warn(refPath + ".pluginRef", $"\"{name}\" is referenced more than once in this profile");
                }

                if (reference.Weight is { } weight)
                {
                    if (!double.IsFinite(weight))
                    {
                        errors.Report(refPath + ".weight", $"must be a finite number, got {weight}");
                    }
                    else if (target?.Registration is { } r && (r.Kinds & PluginKinds.Scorer) == 0)
                    {
                        errors.Warn(refPath + ".weight", $"ignored: weights apply to scorers, and \"{target.Name}\" is {PluginKindNames.Describe(r.Kinds)}");
                    }
                }

                if (target is not null && target.Is(PluginKinds.Picker))
                {
                    if (picker is not null)
                    {
                        errors.Report(refPath + ".pluginRef", $"a scheduling profile takes one picker, and \"{picker}\" is already this profile's picker");
                    }

                    picker = target.Name;
                }
            }
        }

    }

    /// <summary>llm-d's prefixMatchInfoProducerName must name a declared approx-prefix-cache-producer, or every request would fail.</summary>
    private static void CheckPrefixProducerReferences(EndpointPickerConfig config, Dictionary<string, DeclaredPlugin> plugins, ValidationErrors errors)
    {
        foreach (var plugin in plugins.Values.Where(p => p.Registration?.TypeName == BuiltInPlugins.PrefixCacheScorer))
        {
            var path = plugin.Path + ".parameters";
            if (!BuiltInParameterBinders.PrefixCacheScorer.TryBind(config.Plugins[plugin.Index].Parameters ?? default, path, new ValidationErrors(), out var parameters)
                || parameters?.PrefixMatchInfoProducerName is not { Length: > 0 } producer)
            {
                continue;
            }

            if (!plugins.TryGetValue(producer, out var target) || target.Registration?.TypeName != BuiltInPlugins.ApproxPrefixCacheProducer)
            {
                var producers = plugins.Values.Where(p => p.Registration?.TypeName == BuiltInPlugins.ApproxPrefixCacheProducer).Select(p => p.Name).ToArray();
                errors.Report(FieldPath.Field(path, "prefixMatchInfoProducerName"), $"no {BuiltInPlugins.ApproxPrefixCacheProducer} plugin named \"{producer}\"{NameSuggestions.Hint(producer, producers)}");
            }
        }
    }

    private static void CheckSaturationDetector(EndpointPickerConfig config, References references, ValidationErrors errors)
    {
        // llm-d v0.10 moved the detector into flowControl; the top-level one applies when that is absent.
        var nested = config.FlowControl?.SaturationDetector;
        if (nested is not null && config.SaturationDetector is not null)
        {
            errors.Warn("saturationDetector", "ignored: flowControl.saturationDetector is set and takes precedence (llm-d v0.10)");
        }

        var detector = nested ?? config.SaturationDetector;
        var at = nested is null ? "saturationDetector" : "flowControl.saturationDetector";
        if (detector is null)
        {
            return;
        }

        if (detector.PluginRef is { Length: > 0 })
        {
            references.Resolve(detector.PluginRef, at + ".pluginRef", PluginKinds.SaturationDetector, "saturationDetector.pluginRef must name a saturation-detector", ConfigDefaultNames.SaturationDetector);
            if (detector.HasLegacyThresholds)
            {
                errors.Warn(at, "threshold fields are ignored when pluginRef is set; set them as parameters of the referenced detector");
            }

            return;
        }

        if (detector.HasLegacyThresholds)
        {
            errors.Warn(at, $"inline thresholds are the older form; declare a {BuiltInPlugins.UtilizationDetector} plugin with these parameters and reference it with pluginRef");
            BuiltInParameterBinders.UtilizationDetector.Validate(ConfigDefaults.LegacyDetectorParameters(detector), at, errors);
        }
    }

    private static void CheckParser(EndpointPickerConfig config, References references, ValidationErrors errors)
    {
        var parsers = config.RequestHandler?.Parsers ?? [];
        var llmD = config.Dialect == ConfigDialect.LlmD;
        for (var i = 0; i < parsers.Count; i++)
        {
            var at = $"requestHandler.parsers[{i}].pluginRef";
            var name = parsers[i].PluginRef;
            if (string.IsNullOrEmpty(name))
            {
                errors.Report(at, "is required");
            }
            else if (!references.TryGet(name, out var plugin))
            {
                // llm-d's texts.
                errors.Report(at, $"parser references undefined plugin '{name}'");
            }
            else if (plugin.Registration is { } registration && (registration.Kinds & PluginKinds.Parser) == 0)
            {
                errors.Report(at, $"the plugin \"{name}\" is not a parser plugin");
            }
        }

        if (parsers.Count > 1 && !llmD)
        {
            errors.Warn("requestHandler.parsers", $"this build reads every request of a GIE configuration with one parser: the first, \"{parsers[0].PluginRef}\"; the others are not used (an llm-d configuration chooses among them by path)");
        }

        if (config.Parser is { } parser)
        {
            if (llmD)
            {
                errors.Warn("parser", LlmDParsers.TopLevelParserDeprecation);
            }
            else if (parsers.Count > 0)
            {
                errors.Warn("parser", "ignored: requestHandler.parsers is set and takes precedence (llm-d v0.10 deprecates the top-level parser)");
            }

            references.Resolve(parser.PluginRef, "parser.pluginRef", PluginKinds.Parser, "parser.pluginRef must name a parser", ConfigDefaultNames.Parser);
        }
    }

    private static void CheckDataLayer(EndpointPickerConfig config, FeatureGateSet gates, References references, ValidationErrors errors)
    {
        if (config.DataLayer is not { } dataLayer)
        {
            return;
        }

        if (gates.IsEnabled(BuiltInPlugins.EnableLegacyMetricsGate))
        {
            errors.Warn("dataLayer", $"ignored: the {BuiltInPlugins.EnableLegacyMetricsGate} feature gate is on, so metrics are scraped as the command-line flags say (as in GIE v1.5.0)");
            return;
        }

        for (var i = 0; i < dataLayer.Sources.Count; i++)
        {
            var source = dataLayer.Sources[i];
            var path = $"dataLayer.sources[{i}]";
            references.Resolve(source.PluginRef, path + ".pluginRef", PluginKinds.DataSource, "a data layer source must be a data-source");
            for (var j = 0; j < source.Extractors.Count; j++)
            {
                references.Resolve(source.Extractors[j].PluginRef, $"{path}.extractors[{j}].pluginRef", PluginKinds.DataExtractor, "a data layer extractor must be a data-extractor");
            }
        }
    }

    private static void CheckFlowControl(EndpointPickerConfig config, FeatureGateSet gates, References references, ValidationErrors errors)
    {
        if (config.FlowControl is not { } flow)
        {
            return;
        }

        NotNegative(flow.MaxBytes?.Value, "flowControl.maxBytes", errors);
        NotNegative(flow.MaxRequests?.Value, "flowControl.maxRequests", errors);
        if (flow.DefaultRequestTtl is { } ttl && ttl.Value < TimeSpan.Zero)
        {
            errors.Report("flowControl.defaultRequestTTL", $"must not be negative, got {ttl}");
        }

        if (flow.UnprovisionedPriorityPolicy is { } policy && !UnprovisionedPriorityPolicyNames.All.Contains(policy))
        {
            errors.Report(
                "flowControl.unprovisionedPriorityPolicy",
                $"must be one of {string.Join(", ", UnprovisionedPriorityPolicyNames.All)}; got \"{policy}\"{NameSuggestions.Hint(policy, UnprovisionedPriorityPolicyNames.All)}");
        }

        if (flow.ShardCount is { } shards && shards is < 1 or > FlowControlConfig.MaxShardCount)
        {
            errors.Report("flowControl.shardCount", $"must be between 1 and {FlowControlConfig.MaxShardCount}, got {shards}");
        }

        if (flow.FlowIdleTimeout is { } idle && idle.Value <= TimeSpan.Zero)
        {
            errors.Report("flowControl.flowIdleTimeout", $"must be positive, got {idle}");
        }

        if (flow.EnableEviction == true)
        {
            errors.Warn("flowControl.enableEviction", "ignored: evicting running requests (llm-d v0.10) is not implemented in this build");
        }

        if (flow.DefaultNegativePriorityBand is { } negative)
        {
            errors.Warn("flowControl.defaultNegativePriorityBand", "ignored: negative priorities get bands from defaultPriorityBand in this build (llm-d v0.10 has a separate template)");
            CheckBand(negative, "flowControl.defaultNegativePriorityBand", false, references, errors);
        }

        var enabled = gates.IsEnabled(BuiltInPlugins.FlowControlGate);
        if (!enabled)
        {
            // The Go project reads this section only with the gate on; so do we, but say so.
            errors.Warn("flowControl", $"ignored: the {BuiltInPlugins.FlowControlGate} feature gate is off (add it to featureGates)");
        }
        else if (flow.UsageLimitPolicyPluginRef is not null)
        {
            references.Resolve(flow.UsageLimitPolicyPluginRef, "flowControl.usageLimitPolicyPluginRef", PluginKinds.UsageLimitPolicy, "usageLimitPolicyPluginRef must name a usage-limit-policy", ConfigDefaultNames.UsageLimitPolicy);
        }

        if (flow.DefaultPriorityBand is { } template)
        {
            if (template.Priority is not null)
            {
                errors.Warn("flowControl.defaultPriorityBand.priority", "ignored: the template serves every priority that has no band of its own");
            }

            CheckBand(template, "flowControl.defaultPriorityBand", enabled, references, errors);
        }

        var priorities = new Dictionary<int, int>();
        for (var i = 0; i < flow.PriorityBands.Count; i++)
        {
            var band = flow.PriorityBands[i];
            var path = $"flowControl.priorityBands[{i}]";
            if (band.Priority is not { } priority)
            {
                errors.Report(path + ".priority", "is required");
            }
            else if (!priorities.TryAdd(priority, i))
            {
                errors.Report(path + ".priority", $"duplicate priority {priority}, already configured by flowControl.priorityBands[{priorities[priority]}]");
            }

            CheckBand(band, path, enabled, references, errors);
        }
    }

    private static void CheckBand(PriorityBandConfig band, string path, bool checkReferences, References references, ValidationErrors errors)
    {
        NotNegative(band.MaxBytes?.Value, path + ".maxBytes", errors);
        NotNegative(band.MaxRequests?.Value, path + ".maxRequests", errors);
        if (!checkReferences)
        {
            return;
        }

        if (band.FairnessPolicyRef is not null)
        {
            references.Resolve(band.FairnessPolicyRef, path + ".fairnessPolicyRef", PluginKinds.FairnessPolicy, "fairnessPolicyRef must name a fairness-policy", ConfigDefaultNames.FairnessPolicy);
        }

        if (band.OrderingPolicyRef is not null)
        {
            references.Resolve(band.OrderingPolicyRef, path + ".orderingPolicyRef", PluginKinds.OrderingPolicy, "orderingPolicyRef must name an ordering-policy", ConfigDefaultNames.OrderingPolicy);
        }
    }

    private static void NotNegative(long? value, string path, ValidationErrors errors)
    {
        if (value < 0)
        {
            errors.Report(path, $"must not be negative, got {value}");
        }
    }

    private const PluginKinds AnyKind = (PluginKinds)~0;

    /// <summary>Resolves references to plugin instances by name and checks they are of the kind the referring field needs.</summary>
    private sealed class References(Dictionary<string, DeclaredPlugin> plugins, ValidationErrors errors)
    {
        public bool TryGet(string name, out DeclaredPlugin plugin) => plugins.TryGetValue(name, out plugin!);

        public DeclaredPlugin? Resolve(string? name, string path, PluginKinds wanted, string requirement, string? injectedDefault = null)
        {
            if (string.IsNullOrEmpty(name))
            {
                errors.Report(path, "is required");
                return null;
            }

            if (!plugins.TryGetValue(name, out var plugin))
            {
                if (name != injectedDefault)
                {
                    errors.Report(path, $"no plugin named \"{name}\" in plugins{NameSuggestions.Hint(name, plugins.Keys)}");
                }

                return null;
            }

            // Unknown types were reported where they are declared; do not repeat that here.
            if (plugin.Registration is { } registration && (registration.Kinds & wanted) == 0)
            {
                errors.Report(path, $"\"{name}\" is {PluginKindNames.Describe(registration.Kinds)} ({registration.TypeName}); {requirement}");
            }

            return plugin;
        }
    }
}

/// <summary>What validation learned that the defaults step needs.</summary>
internal sealed record ValidatedConfig(FeatureGateSet Gates, IReadOnlyList<(string Path, DeclaredPlugin Plugin)> Deprecated);
