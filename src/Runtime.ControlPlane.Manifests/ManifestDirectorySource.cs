using Microsoft.Extensions.Logging;
using Runtime.ControlPlane.World;
using Runtime.Primitives.Diagnostics;
using Runtime.Primitives.Reloading;

namespace Runtime.ControlPlane.Manifests;

/// <summary>
/// The <c>files</c> source: keeps the world cache equal to a directory of manifests, through the
/// process's one <see cref="ReloadableSource{T}"/>: a change event (debounced, so a burst of writes
/// is one reload) or the periodic rescan checks the directory's fingerprint; when it moved, the
/// whole set is read and validated, and only a valid set replaces the five kinds at once. An
/// invalid set (a half-written file, a duplicate) publishes nothing: the last good world stays and
/// every error is reported with its file and line.
/// </summary>
internal sealed partial class ManifestDirectorySource : IDisposable
{
    public const string SourceName = "files";

    /// <summary>The meter of <see cref="ReloadErrorsCounterName"/> (shared by every reloadable source).</summary>
    public const string MeterName = RuntimeMeter.Name;

    /// <summary>Rejected scans count here, labelled <c>source="manifests"</c>.</summary>
    public const string ReloadErrorsCounterName = ReloadMetrics.ErrorsCounterName;

    /// <summary>The kinds this source owns: each reload replaces all of them in one generation.</summary>
    public static IReadOnlyCollection<ResourceKind> Kinds { get; } =
        [ResourceKind.InferencePool, ResourceKind.InferenceObjective, ResourceKind.InferenceModelRewrite, ResourceKind.Pod, ResourceKind.ConfigMap];

    private const int MaxErrorsInStatus = 5;

    private readonly WorldCache _cache;
    private readonly ManifestSourceOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ReloadableSource<ManifestSet> _source;
    private IReadOnlyList<ManifestError> _lastErrors = [];
    private IReadOnlyList<ManifestError>? _loadErrors;
    private int _started;
    private volatile bool _disposed;

    public ManifestDirectorySource(string directory, WorldCache cache, ManifestSourceOptions? options, ILogger logger, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(logger);
        Directory = Path.GetFullPath(directory);
        _cache = cache;
        _options = options ?? ManifestSourceOptions.Default;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
        _source = new ReloadableSource<ManifestSet>(
            new ReloadableSourceOptions
            {
                Name = "manifests",
                Location = Directory,
                WatchDirectory = _options.WatchChanges ? Directory : null,
                Debounce = _options.Debounce,
                PollInterval = _options.RescanInterval,
                TimeProvider = _time,
            },
            () => FileFingerprint.OfDirectory(Directory),
            Load,
            Apply,
            logger,
            Rejected);
    }

    public string Directory { get; }

    /// <summary>Every error of the last scan; empty once a scan was valid.</summary>
    public IReadOnlyList<ManifestError> LastErrors => Volatile.Read(ref _lastErrors);

    /// <summary>How many times the directory was read because its fingerprint moved.</summary>
    public long LoadCount => _source.LoadCount;

    /// <summary>How many scans changed the world.</summary>
    public long PublishCount => _source.AppliedCount;

    /// <summary>How many scans failed (this source's share of <c>runtime_reload_errors_total</c>).</summary>
    public long ReloadErrorCount => _source.ErrorCount;

    /// <summary>Registers the source, loads the directory, and starts watching it and rescanning it.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            return;
        }

        _cache.RegisterSource(SourceName);
        _source.Start();
    }

    /// <summary>
    /// Scans the directory now. Returns true when a valid set changed the world; false when the
    /// directory did not change, the set was invalid (see <see cref="LastErrors"/>) or it equals the world.
    /// </summary>
    public bool Reload() => _source.Reload().Status == ReloadStatus.Applied;

    public void Dispose()
    {
        _disposed = true;
        _source.Dispose();
    }

    /// <summary>Reads and validates the whole set (under the source's reload lock).</summary>
    private LoadResult<ManifestSet> Load()
    {
        var set = ManifestSetLoader.Load(Directory, _options.DefaultNamespace);
        foreach (var ignored in set.Ignored)
        {
            Log.IgnoredKind(_logger, ignored.Kind, ignored.File, ignored.Line);
        }

        foreach (var warning in set.Warnings)
        {
            Log.ManifestWarning(_logger, warning.ToString());
        }

        if (set.IsValid)
        {
            return LoadResult.Valid(set);
        }

        _loadErrors = set.Errors;
        IReadOnlyList<string> errors = [.. set.Errors.Select(e => e.ToString())];

        // A file that could not be read is read again at the next event or rescan, changed or not.
        return set.Incomplete ? LoadResult.Unreadable<ManifestSet>(errors) : LoadResult.Invalid<ManifestSet>(errors);
    }

    private bool Apply(ManifestSet set)
    {
        Volatile.Write(ref _lastErrors, []);
        var changed = _cache.Replace(Kinds, set.Resources);
        _cache.ReportSynced(SourceName, _time.GetUtcNow());
        if (changed)
        {
            Log.Published(_logger, set.Items.Count, set.Files, Directory);
        }
        else
        {
            Log.Unchanged(_logger, Directory);
        }

        return changed;
    }

    /// <summary>The source logged and counted the problems; the world cache shows them as this source's status.</summary>
    private void Rejected(IReadOnlyList<string> errors)
    {
        // The loader's own errors keep their file and line; a read that threw is about the directory.
        var typed = Interlocked.Exchange(ref _loadErrors, null) ?? [.. errors.Select(e => new ManifestError(Directory, 0, e))];
        Volatile.Write(ref _lastErrors, typed);
        var summary = string.Join("; ", typed.Take(MaxErrorsInStatus));
        if (typed.Count > MaxErrorsInStatus)
        {
            summary += $"; and {typed.Count - MaxErrorsInStatus} more";
        }

        _cache.ReportError(SourceName, summary);
    }

    private static partial class Log
    {
        [LoggerMessage(6001, LogLevel.Information, "Loaded {Resources} resources from {Files} manifest files in {Directory}")]
        public static partial void Published(ILogger logger, int resources, int files, string directory);

        [LoggerMessage(6002, LogLevel.Debug, "Manifests in {Directory} changed on disk but not in content")]
        public static partial void Unchanged(ILogger logger, string directory);

        [LoggerMessage(6005, LogLevel.Debug, "Ignoring {Kind} at {File}:{Line}: not a kind the control plane models")]
        public static partial void IgnoredKind(ILogger logger, string kind, string file, int line);

        [LoggerMessage(6010, LogLevel.Warning, "Manifest warning: {Warning}")]
        public static partial void ManifestWarning(ILogger logger, string warning);
    }
}
