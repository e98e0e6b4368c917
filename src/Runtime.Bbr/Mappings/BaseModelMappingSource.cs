using Microsoft.Extensions.Logging;
using Runtime.Primitives.Reloading;

namespace Runtime.Bbr.Mappings;

/// <summary>
/// The current mappings, reloaded when the directory changes: the process's one
/// <see cref="ReloadableSource{T}"/> polls the directory's fingerprint (names, sizes, write times,
/// link targets), so atomic renames and Kubernetes ConfigMap <c>..data</c> symlink swaps are both
/// seen; a reload with errors keeps the last good mappings. With the Kubernetes API (the control
/// plane of <c>serve</c>, or <c>runtime bbr</c>'s ConfigMap watch), <see cref="ApplyConfigMaps"/>
/// publishes them instead.
/// </summary>
internal sealed partial class BaseModelMappingSource : IDisposable
{
    private readonly ReloadableSource<BaseModelMappingLoader.LoadResult>? _source;
    private readonly ILogger? _logger;
    private readonly string? _directory;
    private readonly Lock _configMapsLock = new();
    private readonly BaseModelConfigMapSet _configMaps = new();
    private BaseModelMappings _current;

    public BaseModelMappingSource(BaseModelMappings fixedMappings)
    {
        _current = fixedMappings;
    }

    /// <summary>Loads <paramref name="directory"/> now (see <see cref="LastErrors"/>) and then checks it every <paramref name="pollInterval"/>.</summary>
    public BaseModelMappingSource(string directory, TimeSpan pollInterval, ILogger logger, TimeProvider? timeProvider = null)
    {
        _directory = directory;
        _logger = logger;
        _current = BaseModelMappings.Empty;
        _source = new ReloadableSource<BaseModelMappingLoader.LoadResult>(
            new ReloadableSourceOptions
            {
                Name = "base_model_mappings",
                Location = directory,
                PollInterval = pollInterval,
                TimeProvider = timeProvider ?? TimeProvider.System,
            },
            () => FileFingerprint.OfDirectory(directory),
            () => Load(directory),
            Apply,
            logger);
        _source.Start();
    }

    public BaseModelMappings Current => Volatile.Read(ref _current);

    /// <summary>Replaces the mappings.</summary>
    public void Publish(BaseModelMappings mappings) => Volatile.Write(ref _current, mappings);

    /// <summary>
    /// Makes these bbr-managed ConfigMaps (namespace/name → data, as listed and watched from the API
    /// server) the whole set and publishes their mappings, with the Go router's rules (see
    /// <see cref="BaseModelConfigMapSet"/>).
    /// </summary>
    public BaseModelConfigMapResult ApplyConfigMaps(IEnumerable<KeyValuePair<string, IReadOnlyDictionary<string, string>>> configMaps)
    {
        lock (_configMapsLock)
        {
            var result = _configMaps.Replace(configMaps);
            Volatile.Write(ref _current, result.Mappings);
            return result;
        }
    }

    /// <summary>Errors of the last load attempt (empty when it was good).</summary>
    public IReadOnlyList<string> LastErrors => _source?.LastErrors ?? [];

    /// <summary>Reloads now if the directory changed; returns true when new mappings were published.</summary>
    public bool Reload() => _source?.Reload().Status == ReloadStatus.Applied;

    public void Dispose() => _source?.Dispose();

    private static LoadResult<BaseModelMappingLoader.LoadResult> Load(string directory)
    {
        var result = BaseModelMappingLoader.LoadDirectory(directory);
        return result.Errors.Count == 0 ? LoadResult.Valid(result) : LoadResult.Invalid<BaseModelMappingLoader.LoadResult>(result.Errors);
    }

    private bool Apply(BaseModelMappingLoader.LoadResult result)
    {
        Volatile.Write(ref _current, result.Mappings);
        Log.Loaded(_logger!, result.ConfigMaps, result.Mappings.Count, _directory!);
        return true;
    }

    private static partial class Log
    {
        [LoggerMessage(4001, LogLevel.Information, "Loaded {ConfigMaps} base-model mapping ConfigMaps ({Models} models) from {Directory}")]
        public static partial void Loaded(ILogger logger, int configMaps, int models, string directory);
    }
}
