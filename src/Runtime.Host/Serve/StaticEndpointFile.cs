using Microsoft.Extensions.Logging;
using Runtime.Endpoints;
using Runtime.Primitives.Reloading;

namespace Runtime.Host.Serve;

/// <summary>
/// Keeps the endpoint store in step with <c>--endpoints-file</c> through the process's one
/// <see cref="ReloadableSource{T}"/>: polls the file's fingerprint (size, write time, link target,
/// so atomic renames and ConfigMap symlink swaps are seen); an invalid edit keeps the last good set
/// and logs every problem.
/// </summary>
internal sealed partial class StaticEndpointFile : IDisposable
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private readonly string _path;
    private readonly EndpointStore _store;
    private readonly ILogger _logger;
    private readonly ReloadableSource<IReadOnlyList<Endpoint>> _source;

    private StaticEndpointFile(string path, EndpointStore store, ILogger logger, TimeProvider time)
    {
        _path = path;
        _store = store;
        _logger = logger;
        _source = new ReloadableSource<IReadOnlyList<Endpoint>>(
            new ReloadableSourceOptions { Name = "endpoints_file", Location = path, PollInterval = PollInterval, TimeProvider = time },
            () => FileFingerprint.OfFiles(path),
            () => Load(path),
            Apply,
            logger);
    }

    /// <summary>Loads the file (a bad first load is an error: the process should not start on it) and starts watching.</summary>
    public static StaticEndpointFile? TryStart(string path, EndpointStore store, ILogger logger, List<string> errors, TimeProvider? time = null)
    {
        var file = new StaticEndpointFile(path, store, logger, time ?? TimeProvider.System);
        var first = file._source.LoadFirst();
        if (first.Status == ReloadStatus.Rejected)
        {
            errors.AddRange(first.Errors.Select(p => $"--endpoints-file {path}: {p}"));
            file.Dispose();
            return null;
        }

        file._source.Start();
        return file;
    }

    public void Dispose() => _source.Dispose();

    private static LoadResult<IReadOnlyList<Endpoint>> Load(string path) =>
        StaticEndpointList.TryParse(File.ReadAllText(path), out var endpoints, out var problems)
            ? LoadResult.Valid(endpoints)
            : LoadResult.Invalid<IReadOnlyList<Endpoint>>(problems);

    private bool Apply(IReadOnlyList<Endpoint> endpoints)
    {
        if (!_store.Publish(endpoints))
        {
            return false;
        }

        Log.Loaded(_logger, _path, endpoints.Count);
        return true;
    }

    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Information, "Endpoints loaded from {Path}: {Count} endpoints")]
        public static partial void Loaded(ILogger logger, string path, int count);
    }
}
