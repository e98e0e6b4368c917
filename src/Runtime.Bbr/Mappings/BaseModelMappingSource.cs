using Microsoft.Extensions.Logging;

namespace Runtime.Bbr.Mappings;

/// <summary>
/// The current mappings, reloaded when the directory changes. Polls a cheap stamp (names, sizes,
/// write times) so atomic renames and Kubernetes ConfigMap <c>..data</c> symlink swaps are both
/// seen; a reload with errors keeps the last good mappings. With the Kubernetes API (the control
/// plane of <c>serve</c>, or <c>runtime bbr</c>'s ConfigMap watch), <see cref="ApplyConfigMaps"/>
/// publishes them instead.
/// </summary>
public sealed partial class BaseModelMappingSource : IDisposable
{
    private readonly string? _directory;
    private readonly ILogger _logger;
    private readonly Timer? _timer;
    private readonly Lock _reloadLock = new();
    private readonly BaseModelConfigMapSet _configMaps = new();
    private BaseModelMappings _current;
    private string _stamp = string.Empty;

    public BaseModelMappingSource(BaseModelMappings fixedMappings)
    {
        _current = fixedMappings;
        _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    }

    public BaseModelMappingSource(string directory, TimeSpan pollInterval, ILogger logger)
    {
        _directory = directory;
        _logger = logger;
        _current = BaseModelMappings.Empty;
        Reload();
        _timer = new Timer(_ => Reload(), null, pollInterval, pollInterval);
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
        lock (_reloadLock)
        {
            var result = _configMaps.Replace(configMaps);
            Volatile.Write(ref _current, result.Mappings);
            return result;
        }
    }

    /// <summary>Errors of the last load attempt (empty when it was good).</summary>
    public IReadOnlyList<string> LastErrors { get; private set; } = [];

    /// <summary>Reloads now if the directory changed; returns true when new mappings were published.</summary>
    public bool Reload()
    {
        if (_directory is null)
        {
            return false;
        }

        lock (_reloadLock)
        {
            string stamp;
            try
            {
                stamp = Stamp(_directory);
            }
            catch (IOException ex)
            {
                Log.ReloadFailed(_logger, _directory, ex.Message);
                return false;
            }

            if (stamp == _stamp)
            {
                return false;
            }

            _stamp = stamp;
            var result = BaseModelMappingLoader.LoadDirectory(_directory);
            LastErrors = result.Errors;
            if (result.Errors.Count > 0)
            {
                foreach (var error in result.Errors)
                {
                    Log.InvalidMapping(_logger, error);
                }

                return false;
            }

            Volatile.Write(ref _current, result.Mappings);
            Log.Loaded(_logger, result.ConfigMaps, result.Mappings.Count, _directory);
            return true;
        }
    }

    private static string Stamp(string directory)
    {
        var parts = new List<string>();
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos("*", SearchOption.TopDirectoryOnly))
        {
            // Resolve symlinks (..data swaps) so a retargeted link changes the stamp.
            var target = entry.ResolveLinkTarget(returnFinalTarget: true) ?? entry;
            target.Refresh();
            var length = target is FileInfo { Exists: true } file ? file.Length : 0;
            parts.Add($"{entry.Name}|{target.FullName}|{length}|{target.LastWriteTimeUtc.Ticks}");
        }

        parts.Sort(StringComparer.Ordinal);
        return string.Join('\n', parts);
    }

    public void Dispose() => _timer?.Dispose();

    private static partial class Log
    {
        [LoggerMessage(4001, LogLevel.Information, "Loaded {ConfigMaps} base-model mapping ConfigMaps ({Models} models) from {Directory}")]
        public static partial void Loaded(ILogger logger, int configMaps, int models, string directory);

        [LoggerMessage(4002, LogLevel.Warning, "Base-model mappings not reloaded, keeping the last good ones: {Error}")]
        public static partial void InvalidMapping(ILogger logger, string error);

        [LoggerMessage(4003, LogLevel.Warning, "Could not read base-model mappings from {Directory}: {Reason}")]
        public static partial void ReloadFailed(ILogger logger, string directory, string reason);
    }
}
