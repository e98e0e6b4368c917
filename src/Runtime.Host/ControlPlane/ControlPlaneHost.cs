using System.Globalization;
using Microsoft.Extensions.Logging;
using Runtime.ControlPlane.Reconcile;
using Runtime.ControlPlane.World;
using Runtime.Host.Serve;

namespace Runtime.Host.ControlPlane;

/// <summary>
/// The control plane as the binary runs it: one world cache fed by one source — the Kubernetes
/// API, or a manifests directory at the edge — one reconcile loop publishing into the data plane,
/// and readiness that follows the loop's status.
/// </summary>
internal sealed partial class ControlPlaneHost : IAsyncDisposable
{
    private readonly IWorldSource _source;
    private readonly ILogger _logger;

    private ControlPlaneHost(WorldCache cache, Reconciler reconciler, IWorldSource source, ILogger logger)
    {
        Cache = cache;
        Reconciler = reconciler;
        _source = source;
        _logger = logger;
        reconciler.StatusChanged += status =>
        {
            Readiness.Set(status.Ready);
            Log.Status(_logger, status.Ready, status.Endpoints, status.LastError ?? "none");
        };
    }

    public WorldCache Cache { get; }

    public Reconciler Reconciler { get; }

    public ReadinessGate Readiness { get; } = new();

    public static ControlPlaneHost? TryCreate(ServeOptions options, DataPlaneTargets targets, ILoggerFactory loggers, List<string> errors)
    {
        var selection = TryResolveSelection(options, errors);
        if (selection is null)
        {
            return null;
        }

        var logger = loggers.CreateLogger("Runtime.ControlPlane");
        var cache = new WorldCache();
        var source = WorldSources.TryCreate(options, selection, cache, loggers, errors);
        if (source is null)
        {
            return null;
        }

        var reconciler = new Reconciler(cache, selection, DataPlaneWorkflow.Create(targets, cache, logger), logger);
        return new ControlPlaneHost(cache, reconciler, source, logger);
    }

    /// <summary>The pool (or standalone selector) from the flags, with the Go binary's namespace default.</summary>
    public static PoolSelection? TryResolveSelection(ServeOptions options, List<string> errors)
    {
        var ns = !string.IsNullOrEmpty(options.PoolNamespace) ? options.PoolNamespace
            : Environment.GetEnvironmentVariable("NAMESPACE") is { Length: > 0 } env ? env : PoolSelection.DefaultNamespace;
        if (!string.IsNullOrEmpty(options.PoolName))
        {
            return PoolSelection.ForPool(options.PoolName, ns, options.PoolGroup);
        }

        if (!PoolSelection.TryParseSelector(options.EndpointSelector ?? string.Empty, out var selector, out var error))
        {
            errors.Add("--endpoint-selector: " + error);
            return null;
        }

        var ports = new List<int>();
        foreach (var part in (options.EndpointTargetPorts ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                errors.Add($"--endpoint-target-ports: \"{part}\" is not a port");
                return null;
            }

            ports.Add(port);
        }

        if (ports.Count is 0 or > 8)
        {
            errors.Add("--endpoint-target-ports: give 1 to 8 ports");
            return null;
        }

        return PoolSelection.Standalone(selector, ports, ns);
    }

    public void Start()
    {
        Reconciler.Start();
        _source.Start();
    }

    public async ValueTask DisposeAsync()
    {
        await _source.DisposeAsync().ConfigureAwait(false);
        await Reconciler.DisposeAsync().ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(55, LogLevel.Information, "Control plane: ready={Ready}, {Endpoints} endpoints, last error: {Error}")]
        public static partial void Status(ILogger logger, bool ready, int endpoints, string error);
    }
}

/// <summary>A source that feeds the world cache until disposed.</summary>
internal interface IWorldSource : IAsyncDisposable
{
    void Start();
}
