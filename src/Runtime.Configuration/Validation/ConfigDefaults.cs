using System.Buffers;
using System.Text.Json;
using Runtime.Configuration.Model;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.Registry;

namespace Runtime.Configuration.Validation;

/// <summary>
/// Completes a valid configuration the way the Go project's loader does, so the effective
/// configuration is explicit: plugin names default to types; no profiles → one "default" profile
/// of every filter, scorer and picker; one profile without a handler → single-profile-handler;
/// no picker → max-score-picker appended to each profile that lacks one; unweighted scorers →
/// weight 1; a prefix-cache-scorer without a declared approx-prefix-cache-producer → one, with the last
/// scorer's parameters; the default ordering, fairness and usage-limit policies; parser → openai-parser
/// (llm-d: the first of requestHandler.parsers); saturation detector → utilization-detector (llm-d:
/// flowControl.saturationDetector first); no dataLayer section → metrics-data-source feeding
/// core-metrics-extractor, unless enableLegacyMetrics is on.
/// </summary>
internal static class ConfigDefaults
{
    public static EndpointPickerConfig Apply(EndpointPickerConfig config, FeatureGateSet gates, PluginRegistry registry)
    {
        var plugins = config.Plugins.Select(p => p with { Name = p.EffectiveName }).ToList();
        var kinds = new Dictionary<string, PluginKinds>(StringComparer.Ordinal);
        foreach (var plugin in plugins)
        {
            kinds[plugin.Name!] = registry.TryGet(plugin.Type!, out var r) ? r.Kinds : PluginKinds.None;
        }

        string Inject(string name, string type, JsonElement? parameters = null)
        {
            var unique = name;
            for (var i = 2; kinds.ContainsKey(unique); i++)
            {
                unique = $"{name}-{i}";
            }

            plugins.Add(new PluginSpec { Name = unique, Type = type, Parameters = parameters });
            kinds[unique] = registry.TryGet(type, out var r) ? r.Kinds : PluginKinds.None;
            return unique;
        }

        bool Has(string? name, PluginKinds kind) => name is not null && kinds.TryGetValue(name, out var k) && (k & kind) != 0;

        var profiles = config.SchedulingProfiles.ToList();
        if (profiles.Count == 0)
        {
            profiles.Add(new SchedulingProfileConfig
            {
                Name = ConfigDefaultNames.Profile,
                Plugins = plugins.Where(p => Has(p.Name, PluginKinds.SchedulingProfilePlugins)).Select(p => new SchedulingPluginRef { PluginRef = p.Name }).ToArray(),
            });
        }

        if (profiles.Count == 1 && !kinds.Values.Any(k => (k & PluginKinds.ProfileHandler) != 0))
        {
            Inject(ConfigDefaultNames.ProfileHandler, BuiltInPlugins.SingleProfileHandler);
        }

        // The first declared picker is shared by profiles without one (Go takes an arbitrary one from a map).
        var picker = plugins.FirstOrDefault(p => Has(p.Name, PluginKinds.Picker))?.Name;
        var needsPicker = profiles.Any(profile => !profile.Plugins.Any(r => Has(r.PluginRef, PluginKinds.Picker)));
        if (picker is null && (needsPicker || profiles.Any(profile => profile.Plugins.Any(r => r.PluginRef == ConfigDefaultNames.Picker))))
        {
            picker = Inject(ConfigDefaultNames.Picker, BuiltInPlugins.MaxScorePicker);
        }

        profiles = profiles.Select(profile =>
        {
            // A member that is no filter, scorer or picker is ignored, as GIE's loader does (validation warned).
            var refs = profile.Plugins
                .Where(r => r.PluginRef is null || !kinds.TryGetValue(r.PluginRef, out var k) || (k & PluginKinds.SchedulingProfilePlugins) != 0)
                .Select(r => Has(r.PluginRef, PluginKinds.Scorer) && r.Weight is null ? r with { Weight = ConfigDefaultNames.ScorerWeight } : r)
                .ToList();
            if (!refs.Any(r => Has(r.PluginRef, PluginKinds.Picker)))
            {
                refs.Add(new SchedulingPluginRef { PluginRef = picker });
            }

            return profile with { Plugins = refs };
        }).ToList();

        // GIE creates the producer from the last prefix-cache-scorer's parameters when none is declared;
        // llm-d's scorer no longer forwards them, and its producer has larger match caps by default.
        var llmD = config.ApiVersion == EndpointPickerConfig.LlmDApiVersion;
        var prefixScorers = plugins.Where(p => p.Type == BuiltInPlugins.PrefixCacheScorer).ToArray();
        var prefixReaders = prefixScorers.Length > 0 || plugins.Any(p => p.Type == BuiltInPlugins.NoHitLruScorer);
        if (prefixReaders && !plugins.Any(p => p.Type == BuiltInPlugins.ApproxPrefixCacheProducer))
        {
            Inject(ConfigDefaultNames.PrefixProducer, BuiltInPlugins.ApproxPrefixCacheProducer, llmD || prefixScorers.Length == 0 ? null : prefixScorers[^1].Parameters);
        }

        if (llmD)
        {
            for (var i = 0; i < plugins.Count; i++)
            {
                if (plugins[i].Type == BuiltInPlugins.ApproxPrefixCacheProducer)
                {
                    plugins[i] = plugins[i] with { Parameters = LlmDPrefixProducerDefaults.Apply(plugins[i].Parameters) };
                }
            }
        }

        var parserRef = config.RequestHandler?.Parsers is { Count: > 0 } parsers ? parsers[0].PluginRef : config.Parser?.PluginRef;
        var parser = parserRef is { Length: > 0 } ? parserRef : ConfigDefaultNames.Parser;
        var requestHandler = config.RequestHandler;
        if (config.Dialect == ConfigDialect.LlmD)
        {
            // llm-d: the parser list, else the top-level parser copied in, else its default list (passthrough appended).
            var list = LlmDParsers.Effective(config);
            foreach (var (name, type) in list.Where(p => p.Type is not null))
            {
                EnsureDeclared(name, type!);
            }

            requestHandler = new RequestHandlerConfig([.. list.Select(p => new ParserConfig { PluginRef = p.Name })]);
            parser = list[0].Name;
        }
        else if (!kinds.ContainsKey(parser))
        {
            parser = Inject(parser, BuiltInPlugins.OpenAIParser);
        }

        var detectorConfig = config.FlowControl?.SaturationDetector ?? config.SaturationDetector;
        var detector = detectorConfig?.PluginRef is { Length: > 0 } detectorRef ? detectorRef : ConfigDefaultNames.SaturationDetector;
        if (!kinds.ContainsKey(detector))
        {
            var legacy = detectorConfig is { PluginRef: null or "", HasLegacyThresholds: true } ? LegacyDetectorParameters(detectorConfig) : (JsonElement?)null;
            detector = Inject(detector, BuiltInPlugins.UtilizationDetector, legacy);
        }

        // GIE declares the default policies whether or not flow control is on.
        var flowControl = config.FlowControl;
        EnsureDeclared(ConfigDefaultNames.OrderingPolicy, BuiltInPlugins.FcfsOrderingPolicy);
        EnsureDeclared(ConfigDefaultNames.FairnessPolicy, BuiltInPlugins.GlobalStrictFairnessPolicy);
        var usageLimit = flowControl?.UsageLimitPolicyPluginRef ?? ConfigDefaultNames.UsageLimitPolicy;
        EnsureDeclared(usageLimit, BuiltInPlugins.StaticUsageLimitPolicy);
        if (gates.IsEnabled(BuiltInPlugins.FlowControlGate))
        {
            flowControl = (flowControl ?? new FlowControlConfig()) with { UsageLimitPolicyPluginRef = usageLimit };
        }

        var dataLayer = config.DataLayer;
        if (!gates.IsEnabled(BuiltInPlugins.EnableLegacyMetricsGate))
        {
            var additive = dataLayer is not null && config.Dialect == ConfigDialect.LlmD && dataLayer.InjectDefaults != false
                && !dataLayer.Sources.Any(source => source.PluginRef == ConfigDefaultNames.MetricsSource);
            if (dataLayer is null || additive)
            {
                EnsureDeclared(ConfigDefaultNames.MetricsSource, BuiltInPlugins.MetricsDataSource);
                EnsureDeclared(ConfigDefaultNames.MetricsExtractor, BuiltInPlugins.CoreMetricsExtractor);
                var source = new DataLayerSourceConfig([new DataLayerExtractorConfig { PluginRef = ConfigDefaultNames.MetricsExtractor }]) { PluginRef = ConfigDefaultNames.MetricsSource };
                dataLayer = (dataLayer ?? new DataLayerConfig()) with { Sources = [.. dataLayer?.Sources ?? [], source] };
            }
        }

        void EnsureDeclared(string name, string type)
        {
            if (!kinds.ContainsKey(name))
            {
                Inject(name, type);
            }
        }

        return config with
        {
            Plugins = plugins,
            SchedulingProfiles = profiles,
            Parser = new ParserConfig { PluginRef = parser },
            RequestHandler = requestHandler,
            SaturationDetector = new SaturationDetectorConfig { PluginRef = detector },
            FlowControl = flowControl,
            DataLayer = dataLayer,
        };
    }

    /// <summary>The older inline thresholds as utilization-detector parameters.</summary>
    public static JsonElement LegacyDetectorParameters(SaturationDetectorConfig detector)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (detector.QueueDepthThreshold is { } queue)
            {
                writer.WriteNumber("queueDepthThreshold", queue);
            }

            if (detector.KvCacheUtilThreshold is { } kv)
            {
                writer.WriteNumber("kvCacheUtilThreshold", kv);
            }

            if (detector.MetricsStalenessThreshold is { } staleness)
            {
                writer.WriteString("metricsStalenessThreshold", staleness.ToString());
            }

            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }
}
