using System.Text.Json;
using Microsoft.Extensions.Logging;
using Runtime.Configuration.Loading;
using Runtime.Configuration.Model;
using Runtime.EndpointPicker;
using Runtime.EndpointPicker.Admission;
using Runtime.EndpointPicker.Plugins;
using Runtime.EndpointPicker.Requests;
using Runtime.Endpoints;
using Runtime.FlowControl;
using Runtime.FlowControl.Plugins;
using Runtime.FlowControl.Policies;
using Runtime.ModelMetrics.Scraping;
using Runtime.Plugins;
using Runtime.Plugins.Activation;
using Runtime.Plugins.Registry;
using Runtime.Plugins.Validation;
using Runtime.Primitives.Reloading;
using Runtime.Scheduling;
using Runtime.Scheduling.Saturation;
using Runtime.Telemetry.Prometheus;

namespace Runtime.Host.Serve;

/// <summary>
/// <c>--watch-config-file</c>: reloads the EndpointPickerConfig when its file changes (an edit, an
/// atomic rename, a ConfigMap volume's <c>..data</c> swap). A change is loaded and validated in
/// full and its plugin graph built — scheduling profiles, scorers and weights, pickers, the
/// saturation detector, the parser and the response plugins — reusing every plugin whose name,
/// type and parameters did not change, so the state it holds (a prefix index) carries over. The
/// new graph is swapped into the processor in one write: new requests use it, requests in flight
/// finish on the one they started with. An invalid file changes nothing; every error is logged.
/// </summary>
/// <remarks>
/// <para>With flow control on, the <c>flowControl</c> section and the saturation detector apply
/// live too (<see cref="FlowController.Reconfigure"/>): queued requests stay queued; a band that
/// left the config (and no InferenceObjective wants) drains, then goes; new limits refuse new
/// requests only; new policies and the new detector bind the dispatches made after the swap.</para>
/// <para>What the running process built once at start cannot change live, and is reported as
/// needing a restart (logged, counted in <c>runtime_config_reloads_total{result="restart_required"}</c>)
/// while the rest applies: the feature gates (flow control on or off, legacy metrics) and the data
/// layer (what is scraped and how metrics are named).</para>
/// </remarks>
internal sealed partial class ConfigReloader : IDisposable
{
    public const string GenerationGauge = "runtime_config_generation";
    public const string ReloadsCounter = "runtime_config_reloads_total";

    private readonly string _path;
    private readonly PluginRegistry _registry;
    private readonly bool _allowExperimental;
    private readonly EndpointPickerProcessor _processor;
    private readonly EndpointStore _store;
    private readonly EndpointMetricsScraper _scraper;
    private readonly PluginServices _services;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly RestartOnlyParts _startup;
    private readonly bool _flowControl;
    private readonly ReloadableSource<Candidate> _source;
    private Served _current;
    private long _generation = 1;
    private long _successes;
    private long _failures;
    private long _restartRequired;

    public ConfigReloader(string path, PluginRegistry registry, bool allowExperimental, ConfigLoadResult loaded, IReadOnlyDictionary<string, IPlugin> plugins, EndpointPickerProcessor processor, EndpointStore store, EndpointMetricsScraper scraper, PluginServices services, ILoggerFactory loggers)
    {
        _path = Path.GetFullPath(path);
        _registry = registry;
        _allowExperimental = allowExperimental;
        _processor = processor;
        _store = store;
        _scraper = scraper;
        _services = services;
        _loggers = loggers;
        _logger = loggers.CreateLogger("Runtime.Configuration");
        _flowControl = processor.Context.Admission.FlowControl is not null;
        _startup = RestartOnlyParts.Of(loaded);
        _current = new Served(loaded, plugins, Canonical(loaded.Config!));
        _source = new ReloadableSource<Candidate>(
            new ReloadableSourceOptions
            {
                Name = "config",
                Location = _path,
                WatchDirectory = Path.GetDirectoryName(_path),
                PollInterval = TimeSpan.FromSeconds(2),
            },
            () => FileFingerprint.OfFiles(_path),
            Load,
            Apply,
            _logger,
            _ => Interlocked.Increment(ref _failures));
    }

    /// <summary>Applied configurations so far, the one the process started with included.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>The plugin instances of the config in service, by name.</summary>
    public IReadOnlyDictionary<string, IPlugin> Plugins => Volatile.Read(ref _current).Plugins;

    public long Failures => Interlocked.Read(ref _failures);

    public void Start()
    {
        _source.Start();
        Log.Watching(_logger, _path);
    }

    /// <summary><c>runtime_config_generation</c> and <c>runtime_config_reloads_total{result}</c>.</summary>
    public IDisposable RegisterMetrics(PrometheusExporter exporter)
    {
        var generation = exporter.AddCollector(GenerationGauge, "Generation of the EndpointPickerConfig in service: 1 at start, +1 for each reload applied.", PrometheusMetricType.Gauge,
            w => w.Add(Generation));
        var reloads = exporter.AddCollector(ReloadsCounter, "Reloads of a changed EndpointPickerConfig file by result: success (applied), failure (invalid; the last good config stays), restart_required (applied, but parts of it take effect only after a restart).", PrometheusMetricType.Counter,
            w =>
            {
                w.Add("result", "success", Interlocked.Read(ref _successes));
                w.Add("result", "failure", Interlocked.Read(ref _failures));
                w.Add("result", "restart_required", Interlocked.Read(ref _restartRequired));
            });
        return new Both(generation, reloads);
    }

    public void Dispose() => _source.Dispose();

    /// <summary>Reads, validates and builds the new graph (under the source's lock, so <see cref="_current"/> is stable).</summary>
    private LoadResult<Candidate> Load()
    {
        // An I/O error propagates: the source retries at the next event or poll (a swap caught mid-way).
        var text = File.ReadAllText(_path);
        var loaded = new EndpointPickerConfigLoader(_registry) { AllowExperimentalPlugins = _allowExperimental }.LoadText(text, _path);
        if (!loaded.IsValid)
        {
            return LoadResult.Invalid<Candidate>([.. loaded.Errors.Select(e => e.Format(loaded.Source))]);
        }

        var config = loaded.Config!;
        var canonical = Canonical(config);
        if (canonical == _current.Canonical)
        {
            return LoadResult.Valid(new Candidate(loaded, _current.Plugins, canonical, null!, null!, null, [], 0));
        }

        var previous = _current;
        var kept = 0;
        IPlugin? Reuse(PluginInstanceSpec spec)
        {
            var old = previous.Loaded.Config!.Plugins.FirstOrDefault(p => p.Name == spec.Name);
            if (old is null || old.Type != spec.TypeName || !SameParameters(old.Parameters ?? default, spec.Parameters)
                || !previous.Plugins.TryGetValue(spec.Name, out var instance))
            {
                return null;
            }

            kept++;
            return instance;
        }

        var activation = new ServedConfiguration(_registry, loaded).Activate(_loggers, _services, Reuse);
        var errors = activation.Errors.Select(e => e.ToString()).ToList();
        if (errors.Count > 0)
        {
            return LoadResult.Invalid<Candidate>(errors);
        }

        var scheduler = Scheduler.Create(config, activation.Plugins);
        errors.AddRange(scheduler.Errors);
        var detector = SaturationDetectorSelector.Select(config, activation.Plugins, _store);
        if (detector.Error is not null)
        {
            errors.Add(detector.Error);
        }

        // With flow control on, its section is applied live: mapped (policy refs resolved) here, so a bad one rejects the file.
        FlowControlOptions? flowOptions = null;
        if (_flowControl)
        {
            var mapErrors = new ValidationErrors();
            flowOptions = FlowControlConfigMapper.Map(config.FlowControl, activation.Plugins, mapErrors, config.Dialect);
            errors.AddRange(mapErrors.Errors.Select(e => e.ToString()));
        }

        if (errors.Count > 0 || scheduler.Scheduler is null || detector.Detector is null)
        {
            return LoadResult.Invalid<Candidate>(errors.Count > 0 ? errors : ["the scheduler could not be built"]);
        }

        var restart = _startup.Differences(RestartOnlyParts.Of(loaded));
        return LoadResult.Valid(new Candidate(loaded, activation.Plugins, canonical, scheduler.Scheduler, detector, flowOptions, restart, kept));
    }

    /// <summary>Swaps the new graph in for new requests; false when the file's effective config did not change.</summary>
    private bool Apply(Candidate next)
    {
        if (next.Canonical == _current.Canonical)
        {
            return false;
        }

        var config = next.Loaded.Config!;
        var plugins = next.Plugins;
        var old = _processor.Context;

        // Flow control keeps its queues: the new limits, policies and gate are swapped into it first.
        var flowControl = old.Admission.FlowControl;
        BandChanges? bands = flowControl is not null && next.FlowOptions is not null ? flowControl.Reconfigure(next.FlowOptions, next.Detector.Detector) : null;
        var admission = new RequestAdmission(next.Detector.Detector!, flowControl, old.Metrics)
        {
            Dialect = old.Admission.Dialect,
            HasEndpoints = old.Admission.HasEndpoints,
            Admitters = [.. plugins.Values.OfType<ProbabilisticAdmitter>().Select(a => a.Attach(_store))],
        };
        var parsers = RequestParsers.From(config, plugins, _logger);
        _scraper.AddKinds(next.Scheduler.RequiredMetrics | next.Detector.RequiredMetrics);
        _processor.Context = old with
        {
            Scheduler = next.Scheduler,
            Admission = admission,
            Parsers = parsers,
            ProgramFairness = [.. plugins.Values.OfType<FlowControlPolicyPlugin>().Select(p => p.Policy).OfType<ProgramAwareFairnessPolicy>()],
            VerifyServedEndpoint = plugins.Values.OfType<DestinationEndpointServedVerifier>().Any(),
            Reporters = plugins.Values.OfType<RequestAttributeReporter>().ToArray(),
        };
        Volatile.Write(ref _current, new Served(next.Loaded, plugins, next.Canonical));
        var generation = Interlocked.Increment(ref _generation);
        Interlocked.Increment(ref _successes);
        Log.Applied(_logger, _path, generation, string.Join(", ", config.SchedulingProfiles.Select(p => p.Name)), next.Kept, plugins.Count - next.Kept);
        if (bands is not null)
        {
            Log.FlowControlApplied(_logger, string.Join(',', flowControl!.Priorities), string.Join(',', bands.Added), string.Join(',', bands.Reactivated), string.Join(',', bands.Draining), string.Join(',', bands.Removed));
        }

        if (next.RestartRequired.Count > 0)
        {
            Interlocked.Increment(ref _restartRequired);
            foreach (var part in next.RestartRequired)
            {
                Log.RestartRequired(_logger, part);
            }
        }

        return true;
    }

    /// <summary>Equal parameters (none on both sides is equal; <see cref="JsonElement.DeepEquals"/> refuses an absent element).</summary>
    private static bool SameParameters(JsonElement a, JsonElement b) =>
        a.ValueKind == JsonValueKind.Undefined || b.ValueKind == JsonValueKind.Undefined
            ? a.ValueKind == b.ValueKind
            : JsonElement.DeepEquals(a, b);

    /// <summary>The effective config as JSON: two files that say the same thing compare equal.</summary>
    private static string Canonical(EndpointPickerConfig config) => JsonSerializer.Serialize(config, ConfigJsonContext.Default.EndpointPickerConfig);

    private sealed record Served(ConfigLoadResult Loaded, IReadOnlyDictionary<string, IPlugin> Plugins, string Canonical);

    private sealed record Candidate(ConfigLoadResult Loaded, IReadOnlyDictionary<string, IPlugin> Plugins, string Canonical, IScheduler Scheduler, SaturationDetectorSelection Detector, FlowControlOptions? FlowOptions, IReadOnlyList<string> RestartRequired, int Kept);

    private sealed class Both(IDisposable a, IDisposable b) : IDisposable
    {
        public void Dispose()
        {
            a.Dispose();
            b.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(86, LogLevel.Information, "Watching the configuration file {Path} for changes (--watch-config-file)")]
        public static partial void Watching(ILogger logger, string path);

        [LoggerMessage(87, LogLevel.Information, "Configuration {Path} applied as generation {Generation}: scheduling profiles [{Profiles}], {Kept} plugins kept with their state, {Built} built anew; requests in flight finish on the previous one")]
        public static partial void Applied(ILogger logger, string path, long generation, string profiles, int kept, int built);

        [LoggerMessage(88, LogLevel.Warning, "Configuration change needs a restart to take effect (the rest is applied): {Part}")]
        public static partial void RestartRequired(ILogger logger, string part);

        [LoggerMessage(89, LogLevel.Information, "Flow control reconfigured by the reload: bands [{Bands}] (added [{Added}], reactivated [{Reactivated}], draining [{Draining}], removed [{Removed}]); queued requests stay, dispatches from now on use the new limits, policies and saturation detector")]
        public static partial void FlowControlApplied(ILogger logger, string bands, string added, string reactivated, string draining, string removed);
    }
}
