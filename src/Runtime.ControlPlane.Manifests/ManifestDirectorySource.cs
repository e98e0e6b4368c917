using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Manifests;

/// <summary>
/// The <c>files</c> source: keeps the world cache equal to a directory of manifests. A change
/// event (debounced, so a burst of writes is one reload) or the periodic rescan recomputes a cheap
/// stamp of the directory; when it moved, the whole set is read and validated, and only a valid set
/// replaces the five kinds at once. An invalid set (a half-written file, a
/// duplicate) publishes nothing: the last good world stays and every error is reported with its
/// file and line.
/// </summary>
/// <remarks>
/// Reloads are serialised by one lock; the watcher and both timers only schedule them. Writers
/// that replace files atomically (write a temp file, rename over) and kubelet's ConfigMap volumes
/// (<c>..data</c> symlink swap) are seen through the stamp; a writer that writes in place may be
/// caught mid-write, which fails to parse, keeps the last good world, and is picked up when the
/// write completes (its size or write time changes the stamp again).
/// </remarks>
public sealed partial class ManifestDirectorySource : IDisposable
{
    public const string SourceName = "files";
    public const string MeterName = "Runtime.ControlPlane.Manifests";
    public const string ReloadErrorsCounterName = "runtime_manifest_reload_errors_total";

    /// <summary>The kinds this source owns: each reload replaces all of them in one generation.</summary>
    public static IReadOnlyCollection<ResourceKind> Kinds { get; } =
        [ResourceKind.InferencePool, ResourceKind.InferenceObjective, ResourceKind.InferenceModelRewrite, ResourceKind.Pod, ResourceKind.ConfigMap];

    private const int MaxDebounces = 10;
    private const int MaxErrorsInStatus = 5;

    private readonly WorldCache _cache;
    private readonly ManifestSourceOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _reloadErrors;
    private readonly Lock _reloadLock = new();
    private readonly Lock _scheduleLock = new();
    private ITimer? _debounceTimer;
    private ITimer? _rescanTimer;
    private FileSystemWatcher? _watcher;
    private long _pendingSince = -1;
    private bool _started;
    private bool _disposed;
    private string? _stamp;
    private IReadOnlyList<ManifestError> _lastErrors = [];
    private long _loads;
    private long _publishes;
    private long _errors;

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
        _reloadErrors = _meter.CreateCounter<long>(ReloadErrorsCounterName, description: "Manifest directory scans that found errors and kept the last good world.");
    }

    public string Directory { get; }

    /// <summary>Every error of the last scan; empty once a scan was valid.</summary>
    public IReadOnlyList<ManifestError> LastErrors => Volatile.Read(ref _lastErrors);

    /// <summary>How many times the directory was read because its stamp moved.</summary>
    public long LoadCount => Interlocked.Read(ref _loads);

    /// <summary>How many scans changed the world.</summary>
    public long PublishCount => Interlocked.Read(ref _publishes);

    /// <summary>How many scans failed (the value of <c>runtime_manifest_reload_errors_total</c>).</summary>
    public long ReloadErrorCount => Interlocked.Read(ref _errors);

    /// <summary>Registers the source, loads the directory, and starts watching it and rescanning it.</summary>
    public void Start()
    {
        lock (_scheduleLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_started)
            {
                return;
            }

            _started = true;
            _debounceTimer = _time.CreateTimer(_ => OnDebounceElapsed(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        _cache.RegisterSource(SourceName);

        // Watch before the first load, so a change that lands during it is not missed.
        EnsureWatcher();
        ReloadSafely();
        if (_options.RescanInterval > TimeSpan.Zero)
        {
            lock (_scheduleLock)
            {
                if (!_disposed)
                {
                    _rescanTimer = _time.CreateTimer(_ => OnRescan(), null, _options.RescanInterval, _options.RescanInterval);
                }
            }
        }
    }

    /// <summary>
    /// Scans the directory now. Returns true when a valid set changed the world; false when the
    /// directory did not change, the set was invalid (see <see cref="LastErrors"/>) or it equals the world.
    /// </summary>
    public bool Reload()
    {
        lock (_reloadLock)
        {
            string stamp;
            ManifestSet set;
            try
            {
                stamp = DirectoryStamp.Compute(Directory);
                if (stamp == _stamp)
                {
                    return false;
                }

                Interlocked.Increment(ref _loads);
                set = ManifestSetLoader.Load(Directory, _options.DefaultNamespace);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The directory vanished or turned unreadable mid-scan: retry on the next event or rescan.
                _stamp = null;
                Fail([new ManifestError(Directory, 0, $"could not be read: {ex.Message}")]);
                return false;
            }

            _stamp = set.Incomplete ? null : stamp;
            if (stamp == DirectoryStamp.Missing)
            {
                DropWatcher();
            }

            foreach (var ignored in set.Ignored)
            {
                Log.IgnoredKind(_logger, ignored.Kind, ignored.File, ignored.Line);
            }

            foreach (var warning in set.Warnings)
            {
                Log.ManifestWarning(_logger, warning.ToString());
            }

            if (!set.IsValid)
            {
                Fail(set.Errors);
                return false;
            }

            Volatile.Write(ref _lastErrors, []);
            var changed = _cache.Replace(Kinds, set.Resources);
            _cache.ReportSynced(SourceName, _time.GetUtcNow());
            if (changed)
            {
                Interlocked.Increment(ref _publishes);
                Log.Published(_logger, set.Items.Count, set.Files, Directory);
            }
            else
            {
                Log.Unchanged(_logger, Directory);
            }

            return changed;
        }
    }

    public void Dispose()
    {
        lock (_scheduleLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _debounceTimer?.Dispose();
            _rescanTimer?.Dispose();
            _watcher?.Dispose();
            _watcher = null;
        }

        _meter.Dispose();
    }

    private void Fail(IReadOnlyList<ManifestError> errors)
    {
        Volatile.Write(ref _lastErrors, errors);
        Interlocked.Increment(ref _errors);
        _reloadErrors.Add(1);
        Log.Rejected(_logger, errors.Count, Directory);
        foreach (var error in errors)
        {
            Log.ManifestProblem(_logger, error.ToString());
        }

        var summary = string.Join("; ", errors.Take(MaxErrorsInStatus));
        if (errors.Count > MaxErrorsInStatus)
        {
            summary += $"; and {errors.Count - MaxErrorsInStatus} more";
        }

        _cache.ReportError(SourceName, summary);
    }

    private void ScheduleReload()
    {
        lock (_scheduleLock)
        {
            if (_disposed || _debounceTimer is null)
            {
                return;
            }

            // Trailing-edge debounce, but a directory that never goes quiet is still reloaded every few debounces.
            var now = _time.GetTimestamp();
            if (_pendingSince < 0)
            {
                _pendingSince = now;
            }

            var due = _time.GetElapsedTime(_pendingSince, now) >= _options.Debounce * MaxDebounces ? TimeSpan.Zero : _options.Debounce;
            _debounceTimer.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnDebounceElapsed()
    {
        lock (_scheduleLock)
        {
            _pendingSince = -1;
        }

        ReloadSafely();
    }

    private void OnRescan()
    {
        EnsureWatcher();
        ReloadSafely();
    }

    private void ReloadSafely()
    {
        if (Volatile.Read(ref _disposed))
        {
            return;
        }

        try
        {
            Reload();
        }
#pragma warning disable CA1031 // A timer callback must never take the process down; the next event or rescan retries.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.ReloadCrashed(_logger, Directory, ex);
        }
    }

    private void EnsureWatcher()
    {
        if (!_options.WatchChanges)
        {
            return;
        }

        lock (_scheduleLock)
        {
            if (_disposed || _watcher is not null || !System.IO.Directory.Exists(Directory))
            {
                return;
            }

            FileSystemWatcher? watcher = null;
            try
            {
                watcher = new FileSystemWatcher(Directory)
                {
                    IncludeSubdirectories = false,
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
                };
                watcher.Created += OnChanged;
                watcher.Changed += OnChanged;
                watcher.Deleted += OnChanged;
                watcher.Renamed += OnChanged;
                watcher.Error += OnWatcherError;
                watcher.EnableRaisingEvents = true;
                _watcher = watcher;
                watcher = null;
                Log.Watching(_logger, Directory);
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException or PlatformNotSupportedException)
            {
                // Out of inotify watches, or the directory went away: the periodic rescan still works.
                Log.WatchFailed(_logger, Directory, ex.Message);
            }
            finally
            {
                watcher?.Dispose();
            }
        }
    }

    private void DropWatcher()
    {
        lock (_scheduleLock)
        {
            _watcher?.Dispose();
            _watcher = null;
        }
    }

    private void OnChanged(object sender, FileSystemEventArgs e) => ScheduleReload();

    private void OnWatcherError(object sender, ErrorEventArgs e)
    {
        var error = e.GetException();
        Log.WatcherError(_logger, Directory, error.Message);
        if (error is not InternalBufferOverflowException)
        {
            // The watcher may be dead; the rescan after this reload builds a new one.
            lock (_scheduleLock)
            {
                if (ReferenceEquals(sender, _watcher))
                {
                    _watcher.Dispose();
                    _watcher = null;
                }
            }
        }

        // Events were lost: rescan (the stamp tells what changed) and re-arm the watcher.
        ScheduleReload();
        EnsureWatcher();
    }

    private static partial class Log
    {
        [LoggerMessage(6001, LogLevel.Information, "Loaded {Resources} resources from {Files} manifest files in {Directory}")]
        public static partial void Published(ILogger logger, int resources, int files, string directory);

        [LoggerMessage(6002, LogLevel.Debug, "Manifests in {Directory} changed on disk but not in content")]
        public static partial void Unchanged(ILogger logger, string directory);

        [LoggerMessage(6003, LogLevel.Warning, "Manifests in {Directory} not applied ({Errors} errors); keeping the last good world")]
        public static partial void Rejected(ILogger logger, int errors, string directory);

        [LoggerMessage(6004, LogLevel.Warning, "Manifest error: {Error}")]
        public static partial void ManifestProblem(ILogger logger, string error);

        [LoggerMessage(6005, LogLevel.Debug, "Ignoring {Kind} at {File}:{Line}: not a kind the control plane models")]
        public static partial void IgnoredKind(ILogger logger, string kind, string file, int line);

        [LoggerMessage(6006, LogLevel.Debug, "Watching {Directory} for manifest changes")]
        public static partial void Watching(ILogger logger, string directory);

        [LoggerMessage(6007, LogLevel.Warning, "Cannot watch {Directory} ({Reason}); relying on the periodic rescan")]
        public static partial void WatchFailed(ILogger logger, string directory, string reason);

        [LoggerMessage(6008, LogLevel.Warning, "File watcher on {Directory} failed ({Reason}); rescanning")]
        public static partial void WatcherError(ILogger logger, string directory, string reason);

        [LoggerMessage(6010, LogLevel.Warning, "Manifest warning: {Warning}")]
        public static partial void ManifestWarning(ILogger logger, string warning);

        [LoggerMessage(6009, LogLevel.Error, "Reloading manifests from {Directory} failed unexpectedly")]
        public static partial void ReloadCrashed(ILogger logger, string directory, Exception exception);
    }
}
