using Runtime.FlowControl.Policies;
using Microsoft.Extensions.Logging;
using Runtime.Bbr.Mappings;
using Runtime.Configuration.Loading;
using Runtime.EndpointPicker;
using Runtime.EndpointPicker.Admission;
using Runtime.EndpointPicker.Plugins;
using Runtime.EndpointPicker.Requests;
using Runtime.Endpoints;
using Runtime.FlowControl;
using Runtime.FlowControl.Plugins;
using Runtime.Host.ControlPlane;
using Runtime.ModelMetrics.Dcgm;
using Runtime.ModelMetrics.Mapping;
using Runtime.ModelMetrics.Plugins;
using Runtime.ModelMetrics.Scraping;
using Runtime.Plugins;
using Runtime.Plugins.Activation;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Registry;
using Runtime.Plugins.Validation;
using Runtime.ReplicaState;
using Runtime.Scheduling;
using Runtime.Scheduling.Saturation;
using Runtime.Telemetry.Prometheus;

namespace Runtime.Host.Serve;

/// <summary>
/// Composes the endpoint picker from a validated configuration and the serve flags: the endpoint
/// store (static endpoints, or the control plane's), the configured plugins, the scheduler and
/// saturation detector, flow control when its gate is on, the metrics scraper (reading only what
/// the plugins use), objectives and model rewrites, and the ext_proc processor that ties them together.
/// </summary>
internal sealed partial class EndpointPickerHost : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly EndpointMetricsScraper _scraper;
    private readonly StaticEndpointFile? _endpointFile;
    private readonly ITimer? _capacityTicker;
    private readonly bool _scrape;
    private readonly EndpointStore _store;
    private IDisposable? _servedMetrics;
    private IDisposable? _leaderMetrics;
    private IDisposable? _reloadMetrics;
    private ReplicaStateSync? _replicaState;

    private EndpointPickerHost(EndpointPickerProcessor processor, EndpointStore store, EndpointMetricsScraper scraper, bool scrape, FlowController? flowControl, StaticEndpointFile? endpointFile, ControlPlaneHost? controlPlane, EndpointPickerMetrics metrics, TimeSpan interval)
    {
        _scrape = scrape;
        Processor = processor;
        _store = store;
        ControlPlane = controlPlane;
        _scraper = scraper;
        FlowControl = flowControl;
        _endpointFile = endpointFile;
        Metrics = metrics;
        if (flowControl is not null)
        {
            // Fresh metrics can free capacity the saturation gate was waiting for.
            _capacityTicker = TimeProvider.System.CreateTimer(_ => flowControl.NotifyCapacityChanged(), null, interval, interval);
        }
    }

    public EndpointPickerProcessor Processor { get; }

    /// <summary>The DCGM scrapers of dcgm-data-source plugins with a dcgm-extractor attached (llm-d, Alpha).</summary>
    public IReadOnlyList<DcgmScraper> DcgmScrapers { get; private init; } = [];

    public FlowController? FlowControl { get; }

    public EndpointPickerMetrics Metrics { get; }

    /// <summary>The control plane when a pool, selector or manifests directory was given; null with static endpoints.</summary>
    public ControlPlaneHost? ControlPlane { get; }

    /// <summary><c>--watch-config-file</c> with <c>--config-file</c>: reloads the plugin graph when the file changes; null otherwise.</summary>
    public ConfigReloader? Reloader { get; private init; }

    /// <summary><c>--ha-enable-leader-election</c>: the Lease this replica competes for; null without it.</summary>
    public LeaderElection? Leader { get; private init; }

    /// <summary>Readiness to report: the control plane's, or null (always ready) with static endpoints.</summary>
    public ReadinessGate? Readiness => ControlPlane?.Readiness;

    /// <summary>Builds everything or returns every problem (and nothing is left running).</summary>
    public static EndpointPickerHost? TryCreate(ServeOptions options, PluginRegistry registry, ConfigLoadResult loaded, BaseModelMappingSource? baseModels, ILoggerFactory loggers, List<string> errors)
    {
        var logger = loggers.CreateLogger("Runtime.EndpointPicker");
        var config = loaded.Config!;
        var store = new EndpointStore();
        StaticEndpointFile? endpointFile = null;
        if (!string.IsNullOrEmpty(options.Endpoints))
        {
            if (StaticEndpointList.TryParse(options.Endpoints, out var endpoints, out var problems))
            {
                store.Publish(endpoints);
            }
            else
            {
                errors.AddRange(problems.Select(p => "--endpoints: " + p));
            }
        }
        else if (!string.IsNullOrEmpty(options.EndpointsFile))
        {
            endpointFile = StaticEndpointFile.TryStart(options.EndpointsFile, store, loggers.CreateLogger<StaticEndpointFile>(), errors);
        }

        var objectives = new ObjectivePriorities();
        if (ObjectivePriorities.TryParse(options.Objectives, out var priorities, out var objectiveErrors))
        {
            objectives.Publish(priorities);
        }

        errors.AddRange(objectiveErrors.Select(e => "--objective: " + e));
        var rewrites = new ModelRewriteRules();
        if (ModelRewriteRules.TryParse(options.ModelRewrites, out var rules, out var rewriteErrors))
        {
            rewrites.Publish(rules);
        }

        errors.AddRange(rewriteErrors.Select(e => "--model-rewrite: " + e));

        var services = new PluginServices { LoggerFactory = loggers }.Add(store);
        var activation = new ServedConfiguration(registry, loaded).Activate(loggers, services);
        errors.AddRange(activation.Errors.Select(e => $"{loaded.Source}: {e}"));
        if (errors.Count > 0)
        {
            endpointFile?.Dispose();
            return null;
        }

        var plugins = activation.Plugins;
        var scheduler = Scheduler.Create(config, plugins);
        errors.AddRange(scheduler.Errors.Select(e => $"{loaded.Source}: {e}"));
        var detector = SaturationDetectorSelector.Select(config, plugins, store);
        if (detector.Error is not null)
        {
            errors.Add($"{loaded.Source}: {detector.Error}");
        }

        FlowController? flowControl = null;
        if (loaded.FeatureGates?.IsEnabled(BuiltInPlugins.FlowControlGate) == true && detector.Detector is not null)
        {
            var mapErrors = new ValidationErrors();
            var flowOptions = FlowControlConfigMapper.Map(config.FlowControl, plugins, mapErrors, config.Dialect);
            errors.AddRange(mapErrors.Errors.Select(e => $"{loaded.Source}: {e}"));
            if (mapErrors.Errors.Count == 0)
            {
                flowControl = new FlowController(flowOptions, new FlowControlDependencies { SaturationDetector = detector.Detector, Logger = loggers.CreateLogger("Runtime.FlowControl") });
            }
        }

        if (errors.Count > 0 || !scheduler.IsValid || detector.Detector is null)
        {
            endpointFile?.Dispose();
            return null;
        }

        ControlPlaneHost? controlPlane = null;
        if (options.UsesControlPlane)
        {
            var targets = new DataPlaneTargets(store, objectives, rewrites) { FlowControl = flowControl, BaseModels = baseModels };
            controlPlane = ControlPlaneHost.TryCreate(options, targets, loggers, errors);
            if (controlPlane is null)
            {
                return null;
            }
        }

        LeaderElection? leader = null;
        if (options.LeaderElection && ControlPlaneHost.TryResolveSelection(options, errors) is { } selection)
        {
            leader = LeaderElection.TryCreate(options, selection, loggers, errors);
        }

        if (errors.Count > 0)
        {
            endpointFile?.Dispose();
            return null;
        }

        var (sourcePlugin, extractor, scrape) = DataLayer(config, loaded.FeatureGates?.IsEnabled(BuiltInPlugins.EnableLegacyMetricsGate) == true, plugins);
        var source = sourcePlugin?.Parameters ?? new MetricsDataSourceParameters(options.MetricsScheme, options.MetricsPath, options.MetricsInsecureSkipVerify);
        var mappings = MetricMappings(options, extractor, logger, errors);
        if (mappings is null)
        {
            return null;
        }

        // The pool gauges (inference_pool_average_*) read queue, running and KV-cache use whatever the plugins need.
        var kinds = scheduler.Scheduler!.RequiredMetrics | detector.RequiredMetrics | MetricKinds.WaitingQueue | MetricKinds.RunningRequests | MetricKinds.KvCacheUsage;
        var scraperOptions = MetricsScraperOptions.From(source, options.RefreshMetricsInterval, kinds) with { Port = options.ModelServerMetricsPort };
        var scraper = new EndpointMetricsScraper(store, mappings, scraperOptions, loggerFactory: loggers);
        if (!scrape)
        {
            Log.NoMetricsSources(logger);
        }

        var metrics = new EndpointPickerMetrics(MetricsPoolName(options), options.UsesControlPlane ? EndpointNamespace(options) : string.Empty);
        var parser = RequestParsers.From(config, plugins, logger);
        var admission = new RequestAdmission(detector.Detector, flowControl, metrics)
        {
            Dialect = config.Dialect,
            HasEndpoints = () => store.Current.Count > 0,
            Admitters = [.. plugins.Values.OfType<ProbabilisticAdmitter>().Select(a => a.Attach(store))],
        };
        var context = new EndpointPickerContext(store, scheduler.Scheduler, admission, objectives, rewrites, metrics, logger)
        {
            Parsers = parser,
            AgentIdentity = plugins.Values.OfType<AgentIdentity>().FirstOrDefault(),
            ProgramFairness = [.. plugins.Values.OfType<FlowControlPolicyPlugin>().Select(p => p.Policy).OfType<ProgramAwareFairnessPolicy>()],
            VerifyServedEndpoint = plugins.Values.OfType<DestinationEndpointServedVerifier>().Any(),
            Reporters = plugins.Values.OfType<RequestAttributeReporter>().ToArray(),
            ResponseHeaderWriters = plugins.Values.OfType<Runtime.Scheduling.LlmD.IResponseHeaderWriter>().ToArray(),
            StalenessThreshold = options.MetricsStalenessThreshold,
            DisableSubsetFilter = options.DisableEndpointSubsetFilter,
            EmitEndpointScores = options.EmitEndpointScores,
        };
        Log.Composed(logger, store.Current.Count, kinds.ToString(), flowControl is null ? "off (legacy shedding)" : "on", objectives.Current.Count, rewrites.Count);
        var processor = new EndpointPickerProcessor(context);
        var reloader = options.WatchConfigFile && !string.IsNullOrEmpty(options.ConfigFile)
            ? new ConfigReloader(options.ConfigFile, registry, options.AllowExperimentalPlugins, loaded, plugins, processor, store, scraper, services, loggers)
            : null;
        var dcgm = loaded.FeatureGates?.IsEnabled(BuiltInPlugins.EnableLegacyMetricsGate) == true || config.DataLayer is null ? []
            : DcgmPlugins.CreateScrapers(store, plugins, config.DataLayer.Sources.Select(s => (s.PluginRef, s.Extractors.Select(e => e.PluginRef))), options.RefreshMetricsInterval, loggers);
        return new EndpointPickerHost(processor, store, scraper, scrape, flowControl, endpointFile, controlPlane, metrics, options.RefreshMetricsInterval)
        {
            Leader = leader,
            Reloader = reloader,
            DcgmScrapers = dcgm,

            // Active-active: the prefix indexes, in-flight load and fairness usage shared with the pool's other replicas.
            _replicaState = options.ReplicaState is { } shared
                ? new ReplicaStateSync(shared, store, SharedPrefixIndexes.Of(plugins.Values), loggers.CreateLogger("Runtime.ReplicaState"), fairness: SharedFlowUsage.Of(plugins.Values))
                : null,
        };
    }

    /// <summary>
    /// What to scrape, as GIE v1.5.0 decides it: with <c>enableLegacyMetrics</c>, the flags' source and
    /// the built-in names; otherwise the first <c>metrics-data-source</c> of the dataLayer section and
    /// the first extractor attached to it. A dataLayer with no metrics source scrapes nothing.
    /// </summary>
    private static (MetricsDataSourcePlugin? Source, ModelServerMetricsPlugin? Extractor, bool Scrape) DataLayer(Configuration.Model.EndpointPickerConfig config, bool legacy, IReadOnlyDictionary<string, IPlugin> plugins)
    {
        if (legacy || config.DataLayer is null)
        {
            return (null, null, true);
        }

        foreach (var source in config.DataLayer.Sources)
        {
            if (source.PluginRef is { } name && plugins.TryGetValue(name, out var plugin) && plugin is MetricsDataSourcePlugin metrics)
            {
                var extractor = source.Extractors.Select(e => e.PluginRef is { } n && plugins.TryGetValue(n, out var x) ? x as ModelServerMetricsPlugin : null).FirstOrDefault(x => x is not null);
                return (metrics, extractor, true);
            }
        }

        return (null, null, false);
    }

    /// <summary>The <c>name</c>/<c>inference_pool</c> label of the pool families, as ServeCommand passes to <see cref="RegisterMetrics"/>.</summary>
    private static string MetricsPoolName(ServeOptions options) =>
        options.PoolName is { Length: > 0 } pool ? pool : options.UsesControlPlane ? string.Empty : "static";

    /// <summary>The endpoints' namespace as the control plane resolves it (flag, then $NAMESPACE, then "default").</summary>
    private static string EndpointNamespace(ServeOptions options) =>
        !string.IsNullOrEmpty(options.PoolNamespace) ? options.PoolNamespace
        : Environment.GetEnvironmentVariable("NAMESPACE") is { Length: > 0 } ns ? ns : "default";

    /// <summary>
    /// Adds the scrape-time families to <paramref name="exporter"/>: the <c>inference_pool_*</c>
    /// gauges labelled with <paramref name="poolName"/>, flow control's queues when it is on, and the
    /// control plane's status when there is one.
    /// </summary>
    public void RegisterMetrics(PrometheusExporter exporter, string poolName)
    {
        _servedMetrics?.Dispose();
        _servedMetrics = ServedMetrics.Register(exporter, poolName, _store, FlowControl, ControlPlane?.Reconciler);
        _leaderMetrics?.Dispose();
        _leaderMetrics = Leader?.RegisterMetrics(exporter);
        _reloadMetrics?.Dispose();
        _reloadMetrics = Reloader?.RegisterMetrics(exporter);
    }

    /// <summary>Starts the control plane, scraping and the election; <paramref name="stopping"/> (shutdown began) releases the Lease at once.</summary>
    public void Start(CancellationToken stopping)
    {
        if (Leader is { } leader)
        {
            leader.Start();
            stopping.Register(() => _ = leader.DisposeAsync().AsTask());
        }

        ControlPlane?.Start();
        Reloader?.Start();
        _replicaState?.Start();
        if (_scrape)
        {
            _scraper.Start(_stopping.Token);
        }

        foreach (var dcgm in DcgmScrapers)
        {
            dcgm.Start(_stopping.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (Leader is not null)
        {
            await Leader.DisposeAsync().ConfigureAwait(false);
        }

        Reloader?.Dispose();
        _reloadMetrics?.Dispose();
        _leaderMetrics?.Dispose();
        _servedMetrics?.Dispose();
        _capacityTicker?.Dispose();
        if (_replicaState is not null)
        {
            await _replicaState.DisposeAsync().ConfigureAwait(false);
        }

        _endpointFile?.Dispose();
        if (ControlPlane is not null)
        {
            await ControlPlane.DisposeAsync().ConfigureAwait(false);
        }

        await _scraper.DisposeAsync().ConfigureAwait(false);
        foreach (var dcgm in DcgmScrapers)
        {
            await dcgm.DisposeAsync().ConfigureAwait(false);
        }

        if (FlowControl is not null)
        {
            await FlowControl.DisposeAsync().ConfigureAwait(false);
        }

        Metrics.Dispose();
        _stopping.Dispose();
    }

    /// <summary>
    /// The config's metric mappings; without them, the built-in ones with the deprecated metric-name
    /// flags applied to the default (vLLM) engine. Null (with the errors) when a flag's spec is invalid.
    /// </summary>
    private static ModelServerMetricsMappings? MetricMappings(ServeOptions options, ModelServerMetricsPlugin? configured, ILogger logger, List<string> errors)
    {
        if (configured is not null)
        {
            if (options.MetricNameFlags.Count > 0)
            {
                Log.MetricFlagsIgnored(logger, string.Join(", ", options.MetricNameFlags.Keys.Select(k => "--" + k)));
            }

            return configured.Mappings;
        }

        // The Helm chart quotes some values inside the token ("--x=\"sglang:num_queue_reqs\""); an empty value leaves the default.
        string? Flag(string name) => options.MetricNameFlags.TryGetValue(name, out var value) && value.Trim('"') is { Length: > 0 } spec ? spec : null;
        var parameters = new ModelServerMetricsExtractorParameters
        {
            QueuedRequestsSpec = Flag("total-queued-requests-metric"),
            RunningRequestsSpec = Flag("total-running-requests-metric"),
            KvUsageSpec = Flag("kv-cache-usage-percentage-metric"),
            LoraSpec = Flag("lora-info-metric"),
            CacheInfoSpec = Flag("cache-info-metric"),
        };
        if (!ModelServerMetricsMappings.TryCreate(parameters, out var mappings, out var problems))
        {
            errors.AddRange(problems.Select(p => "deprecated metric-name flag: " + p));
            return null;
        }

        return mappings;
    }

    private static partial class Log
    {
        [LoggerMessage(21, LogLevel.Warning, "The config's metrics extractor sets the metric names; the deprecated flags {Flags} are ignored")]
        public static partial void MetricFlagsIgnored(ILogger logger, string flags);

        [LoggerMessage(20, LogLevel.Information, "Endpoint picker ready: {Endpoints} endpoints, scraping [{Metrics}], flow control {FlowControl}, {Objectives} objectives, {Rewrites} model rewrite rules")]
        public static partial void Composed(ILogger logger, int endpoints, string metrics, string flowControl, int objectives, int rewrites);

        [LoggerMessage(22, LogLevel.Information, "No data sources configured; metrics collection is disabled")]
        public static partial void NoMetricsSources(ILogger logger);
    }
}
