using Microsoft.Extensions.Logging;
using Runtime.Primitives.Diagnostics;

namespace Runtime.Primitives.Reloading;

/// <summary>
/// "Watch, debounce, fingerprint, validate, swap, keep the last good, report", written once for
/// every file-backed source of the process (manifests, the endpoints file, base-model mappings,
/// TLS certificates, the configuration file). A change event (debounced) or a poll computes a cheap
/// fingerprint; only when it moved is the content read and validated. Valid content is put into
/// service; invalid content changes nothing, and every problem is logged and counted in
/// <c>runtime_reload_errors_total{source}</c>.
/// </summary>
/// <remarks>
/// <para>Reloads are serialised by one lock; the watcher and the timers only schedule them. Writers
/// that replace files atomically (temp file, rename over) and kubelet's ConfigMap/Secret volumes
/// (<c>..data</c> symlink swap) are seen through <see cref="FileFingerprint"/>; a writer caught
/// mid-write produces invalid content, which is rejected and picked up again when the write
/// completes (its size or write time moves the fingerprint once more).</para>
/// <para>Rejected content is not read again until its fingerprint moves, unless the load asked to
/// retry (<see cref="LoadResult.Unreadable{T}"/>) or reading threw an I/O error.</para>
/// </remarks>
internal sealed class ReloadableSource<T> : IDisposable
    where T : class
{
    private readonly ReloadableSourceOptions _options;
    private readonly Func<string> _fingerprint;
    private readonly Func<LoadResult<T>> _load;
    private readonly Func<T, bool> _apply;
    private readonly Action<IReadOnlyList<string>>? _rejected;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _reloadLock = new();
    private readonly Lock _scheduleLock = new();
    private ITimer? _debounceTimer;
    private ITimer? _pollTimer;
    private FileSystemWatcher? _watcher;
    private long _pendingSince = -1;
    private bool _started;
    private bool _disposed;
    private string? _lastFingerprint;
    private string? _lastReported;
    private T? _current;
    private IReadOnlyList<string> _lastErrors = [];
    private long _loads;
    private long _applied;
    private long _errors;

    /// <param name="options">How changes are noticed, and the name in logs and metrics.</param>
    /// <param name="fingerprint">A cheap value that moves whenever the content may have changed (see <see cref="FileFingerprint"/>); may throw an I/O error.</param>
    /// <param name="load">Reads and validates the content; may throw an I/O error (counted as unreadable).</param>
    /// <param name="apply">Puts a good value into service (under the reload lock); false when it changed nothing. Null: <see cref="Current"/> is all there is.</param>
    /// <param name="logger">Where rejections, watcher trouble and crashes are logged.</param>
    /// <param name="rejected">Told the problems of each rejected load (e.g. to publish them as a status).</param>
    public ReloadableSource(
        ReloadableSourceOptions options,
        Func<string> fingerprint,
        Func<LoadResult<T>> load,
        Func<T, bool>? apply,
        ILogger logger,
        Action<IReadOnlyList<string>>? rejected = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentNullException.ThrowIfNull(load);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options;
        _fingerprint = fingerprint;
        _load = load;
        _apply = apply ?? (static _ => true);
        _rejected = rejected;
        _logger = logger;
        _time = options.TimeProvider;
    }

    public string Name => _options.Name;

    /// <summary>The last good value; null until one was loaded.</summary>
    public T? Current => Volatile.Read(ref _current);

    /// <summary>Every problem of the last load; empty once a load was valid.</summary>
    public IReadOnlyList<string> LastErrors => Volatile.Read(ref _lastErrors);

    /// <summary>How many times the content was read because its fingerprint moved.</summary>
    public long LoadCount => Interlocked.Read(ref _loads);

    /// <summary>How many loads put a value into service that changed something.</summary>
    public long AppliedCount => Interlocked.Read(ref _applied);

    /// <summary>How many loads were rejected (the source's share of <c>runtime_reload_errors_total</c>).</summary>
    public long ErrorCount => Interlocked.Read(ref _errors);

    /// <summary>
    /// Reads the content now, before watching, without logging a rejection: for a first load whose
    /// problems the caller reports itself (a process that must not start on bad input).
    /// </summary>
    public ReloadOutcome LoadFirst() => ReloadCore(report: false);

    /// <summary>Starts watching and polling, and reloads once (watching first, so a change during that load is not missed).</summary>
    /// <exception cref="ObjectDisposedException">The source was disposed.</exception>
    public ReloadOutcome Start()
    {
        lock (_scheduleLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_started)
            {
                return ReloadOutcome.Skipped;
            }

            _started = true;
            _debounceTimer = _time.CreateTimer(static s => ((ReloadableSource<T>)s!).OnDebounceElapsed(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        EnsureWatcher();
        var outcome = ReloadSafely();
        if (_options.PollInterval > TimeSpan.Zero)
        {
            lock (_scheduleLock)
            {
                if (!_disposed)
                {
                    _pollTimer = _time.CreateTimer(static s => ((ReloadableSource<T>)s!).OnPoll(), this, _options.PollInterval, _options.PollInterval);
                }
            }
        }

        return outcome;
    }

    /// <summary>Reloads now if the fingerprint moved. Exceptions other than I/O errors propagate.</summary>
    public ReloadOutcome Reload() => ReloadCore(report: true);

    /// <summary>
    /// Something may have changed (a watcher event, or an owner that knows): reload once the source
    /// has been quiet for <see cref="ReloadableSourceOptions.Debounce"/>.
    /// </summary>
    public void NotifyChanged()
    {
        lock (_scheduleLock)
        {
            if (_disposed || _debounceTimer is null)
            {
                return;
            }

            // Trailing-edge debounce, but a source that never goes quiet is still reloaded every few debounces.
            var now = _time.GetTimestamp();
            if (_pendingSince < 0)
            {
                _pendingSince = now;
            }

            var due = _time.GetElapsedTime(_pendingSince, now) >= _options.Debounce * _options.MaxDebounces ? TimeSpan.Zero : _options.Debounce;
            _debounceTimer.Change(due, Timeout.InfiniteTimeSpan);
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
            _pollTimer?.Dispose();
            _watcher?.Dispose();
            _watcher = null;
        }
    }

    private ReloadOutcome ReloadCore(bool report)
    {
        lock (_reloadLock)
        {
            if (Volatile.Read(ref _disposed))
            {
                return ReloadOutcome.Skipped;
            }

            string fingerprint;
            LoadResult<T> result;
            try
            {
                fingerprint = _fingerprint();
                if (fingerprint == _lastFingerprint)
                {
                    return ReloadOutcome.Skipped;
                }

                Interlocked.Increment(ref _loads);
                ReloadMetrics.Loads.Add(1, new KeyValuePair<string, object?>("source", _options.Name));
                result = _load();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Vanished or unreadable mid-read: try again on the next event or poll.
                _lastFingerprint = null;
                return Reject([$"could not be read: {Describe(ex)}"], report, retry: true);
            }

            _lastFingerprint = result.Retry ? null : fingerprint;
            if (!result.IsValid)
            {
                return Reject(result.Errors, report, result.Retry);
            }

            var value = result.Value!;
            Volatile.Write(ref _lastErrors, []);
            _lastReported = null;
            Volatile.Write(ref _current, value);
            if (!_apply(value))
            {
                return new ReloadOutcome(ReloadStatus.Unchanged, []);
            }

            Interlocked.Increment(ref _applied);
            return new ReloadOutcome(ReloadStatus.Applied, []);
        }
    }

    /// <summary>
    /// The reason in words: the AOT binary keeps only resource keys for framework messages
    /// ("IO_FileNotFound_FileName, …"), so the common cases are said here.
    /// </summary>
    private string Describe(Exception ex) => ex switch
    {
        FileNotFoundException { FileName: { Length: > 0 } file } => $"{file} does not exist",
        DirectoryNotFoundException => $"{_options.Location} does not exist",
        UnauthorizedAccessException => $"permission denied ({ex.Message})",
        _ => ex.Message,
    };

    private ReloadOutcome Reject(IReadOnlyList<string> errors, bool report, bool retry)
    {
        Volatile.Write(ref _lastErrors, errors);
        if (report)
        {
            Interlocked.Increment(ref _errors);
            ReloadMetrics.Errors.Add(1, new KeyValuePair<string, object?>("source", _options.Name));

            // A source that stays unreadable (a directory polled every few seconds) is counted
            // every time but logged again only when its problems change; an edit is always answered.
            var text = string.Join('\n', errors);
            if (!retry || text != _lastReported)
            {
                _lastReported = text;
                if (Current is null)
                {
                    ReloadLog.RejectedNothingLoaded(_logger, _options.Name, _options.Location, errors.Count);
                }
                else
                {
                    ReloadLog.Rejected(_logger, _options.Name, _options.Location, errors.Count);
                }

                foreach (var error in errors)
                {
                    ReloadLog.Problem(_logger, _options.Name, error);
                }
            }
        }

        _rejected?.Invoke(errors);
        return new ReloadOutcome(ReloadStatus.Rejected, errors);
    }

    private ReloadOutcome ReloadSafely()
    {
        if (Volatile.Read(ref _disposed))
        {
            return ReloadOutcome.Skipped;
        }

        ReloadOutcome outcome;
        try
        {
            outcome = Reload();
        }
#pragma warning disable CA1031 // A timer callback must never take the process down; the next event or poll retries.
        catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            lock (_reloadLock)
            {
                _lastFingerprint = null;
            }

            Interlocked.Increment(ref _errors);
            ReloadMetrics.Errors.Add(1, new KeyValuePair<string, object?>("source", _options.Name));
            SwallowedErrors.Report(_logger, LogLevel.Error, "reload", _options.Name, $"reloading {_options.Location} failed unexpectedly; keeping the last good state", ex);
            IReadOnlyList<string> errors = [$"reload failed unexpectedly: {ex.Message}"];
            Volatile.Write(ref _lastErrors, errors);
            _rejected?.Invoke(errors);
            return new ReloadOutcome(ReloadStatus.Rejected, errors);
        }

        if (_options.WatchDirectory is { } directory && !Directory.Exists(directory))
        {
            // A watcher on a removed directory hears nothing more; the next poll builds a new one.
            DropWatcher();
        }

        return outcome;
    }

    private void OnDebounceElapsed()
    {
        lock (_scheduleLock)
        {
            _pendingSince = -1;
        }

        ReloadSafely();
    }

    private void OnPoll()
    {
        EnsureWatcher();
        ReloadSafely();
    }

    private void EnsureWatcher()
    {
        if (_options.WatchDirectory is not { } directory)
        {
            return;
        }

        lock (_scheduleLock)
        {
            if (_disposed || _watcher is not null || !Directory.Exists(directory))
            {
                return;
            }

            FileSystemWatcher? watcher = null;
            try
            {
                watcher = new FileSystemWatcher(directory)
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
                ReloadLog.Watching(_logger, _options.Name, directory);
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException or PlatformNotSupportedException)
            {
                // Out of inotify watches, or the directory went away: polling still works.
                ReloadLog.WatchFailed(_logger, _options.Name, directory, ex.Message);
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

    private void OnChanged(object sender, FileSystemEventArgs e) => NotifyChanged();

    private void OnWatcherError(object sender, ErrorEventArgs e)
    {
        var error = e.GetException();
        ReloadLog.WatcherError(_logger, _options.Name, _options.WatchDirectory!, error.Message);
        if (error is not InternalBufferOverflowException)
        {
            // The watcher may be dead; build a new one.
            lock (_scheduleLock)
            {
                if (ReferenceEquals(sender, _watcher))
                {
                    _watcher.Dispose();
                    _watcher = null;
                }
            }
        }

        // Events were lost: check the fingerprint (it tells what changed) and re-arm the watcher.
        NotifyChanged();
        EnsureWatcher();
    }
}

/// <summary>The reload primitive's log lines (event ids 9010–9019); the category is the owner's.</summary>
internal static partial class ReloadLog
{
    [LoggerMessage(9010, LogLevel.Warning, "{Source}: {Location} not applied ({Errors} errors); keeping the last good state")]
    public static partial void Rejected(ILogger logger, string source, string location, int errors);

    [LoggerMessage(9011, LogLevel.Warning, "{Source}: {Location} is invalid ({Errors} errors); nothing loaded yet")]
    public static partial void RejectedNothingLoaded(ILogger logger, string source, string location, int errors);

    [LoggerMessage(9012, LogLevel.Warning, "{Source}: {Error}")]
    public static partial void Problem(ILogger logger, string source, string error);

    [LoggerMessage(9013, LogLevel.Debug, "{Source}: watching {Directory} for changes")]
    public static partial void Watching(ILogger logger, string source, string directory);

    [LoggerMessage(9014, LogLevel.Warning, "{Source}: cannot watch {Directory} ({Reason}); relying on polling")]
    public static partial void WatchFailed(ILogger logger, string source, string directory, string reason);

    [LoggerMessage(9015, LogLevel.Warning, "{Source}: file watcher on {Directory} failed ({Reason}); rescanning")]
    public static partial void WatcherError(ILogger logger, string source, string directory, string reason);
}
