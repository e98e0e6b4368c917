using Microsoft.Extensions.Logging;
using Runtime.Endpoints;

namespace Runtime.Host.Serve;

/// <summary>
/// Keeps the endpoint store in step with <c>--endpoints-file</c>. Polls the file's size and write
/// time (which also catches atomic renames and ConfigMap symlink swaps); an invalid edit keeps the
/// last good set and logs every problem.
/// </summary>
internal sealed partial class StaticEndpointFile : IDisposable
{
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromSeconds(1);

    private readonly string _path;
    private readonly EndpointStore _store;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly ITimer _timer;
    private (long Length, DateTime Written) _stamp;

    private StaticEndpointFile(string path, EndpointStore store, ILogger logger)
    {
        _path = path;
        _store = store;
        _logger = logger;
        _timer = TimeProvider.System.CreateTimer(_ => Reload(), null, s_pollInterval, s_pollInterval);
    }

    /// <summary>Loads the file (a bad first load is an error: the process should not start on it) and starts watching.</summary>
    public static StaticEndpointFile? TryStart(string path, EndpointStore store, ILogger logger, List<string> errors)
    {
        if (!TryRead(path, out var endpoints, out var problems))
        {
            errors.AddRange(problems.Select(p => $"--endpoints-file {path}: {p}"));
            return null;
        }

        store.Publish(endpoints);
        var file = new StaticEndpointFile(path, store, logger);
        file._stamp = Stamp(path);
        return file;
    }

    public void Dispose() => _timer.Dispose();

    private void Reload()
    {
        lock (_lock)
        {
            var stamp = Stamp(_path);
            if (stamp == _stamp)
            {
                return;
            }

            _stamp = stamp;
            if (TryRead(_path, out var endpoints, out var problems))
            {
                if (_store.Publish(endpoints))
                {
                    Log.Reloaded(_logger, _path, endpoints.Count);
                }
            }
            else
            {
                Log.Invalid(_logger, _path, string.Join("; ", problems));
            }
        }
    }

    private static bool TryRead(string path, out IReadOnlyList<Endpoint> endpoints, out IReadOnlyList<string> problems)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (IOException ex)
        {
            (endpoints, problems) = ([], [ex.Message]);
            return false;
        }
        catch (UnauthorizedAccessException ex)
        {
            (endpoints, problems) = ([], [ex.Message]);
            return false;
        }

        return StaticEndpointList.TryParse(text, out endpoints, out problems);
    }

    private static (long, DateTime) Stamp(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? (info.Length, info.LastWriteTimeUtc) : (-1, default);
    }

    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Information, "Endpoints reloaded from {Path}: {Count} endpoints")]
        public static partial void Reloaded(ILogger logger, string path, int count);

        [LoggerMessage(31, LogLevel.Warning, "Endpoints file {Path} is invalid; keeping the last good set: {Problems}")]
        public static partial void Invalid(ILogger logger, string path, string problems);
    }
}
