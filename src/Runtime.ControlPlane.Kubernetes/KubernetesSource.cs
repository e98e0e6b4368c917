using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Runtime.ControlPlane.Kubernetes.Access;
using Runtime.ControlPlane.Kubernetes.Api;
using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Kubernetes;

/// <summary>
/// Feeds the <see cref="WorldCache"/> from a Kubernetes API server: one list-then-watch (or
/// periodic re-list) loop per kind, all under the source name <see cref="Name"/>. The source is
/// synced once every kind listed once; failures are reported to the cache and retried with
/// jittered exponential back-off, and the last good view stays in the cache meanwhile.
/// </summary>
/// <remarks>
/// A kind the API server refuses with 403 Forbidden (the deployment's Role does not grant it, as
/// the GIE Helm chart grants no ConfigMaps) does not hold readiness back: it counts as listed and
/// empty, is logged once and shown by <c>runtime_control_plane_forbidden_kinds</c>, and is listed
/// again every relist interval so a Role granted later takes effect.
/// </remarks>
internal sealed class KubernetesSource : IAsyncDisposable
{
    public const string Name = "kubernetes";

    private readonly WorldCache _world;
    private readonly KubernetesSourceOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly KubernetesApiClient _client;
    private readonly Lock _lock = new();
    private readonly HashSet<KindSync> _listed = [];
    private readonly List<KindSync> _kinds = [];
    private readonly HashSet<ResourceKind> _forbidden = [];
    private readonly Meter _meter = new("Runtime.ControlPlane.Kubernetes");
    private CancellationTokenSource? _stopping;
    private Task _running = Task.CompletedTask;

    public KubernetesSource(KubernetesAccess access, KubernetesSourceOptions options, WorldCache world, ILogger<KubernetesSource>? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(access);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(world);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException($"invalid Kubernetes source options: {string.Join("; ", problems)}", nameof(options));
        }

        _world = world;
        _options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        _client = new KubernetesApiClient(access, _time, _logger);
        foreach (var kind in options.Kinds)
        {
            _kinds.Add(new KindSync(this, kind));
        }

        _world.RegisterSource(Name);
        _meter.CreateObservableGauge("runtime_control_plane_forbidden_kinds", ObserveForbidden, description: "Kinds the API server refuses to list (403): served as empty until the Role grants them.");
    }

    /// <summary>Kinds currently refused with 403 Forbidden.</summary>
    public IReadOnlyCollection<ResourceKind> ForbiddenKinds
    {
        get
        {
            lock (_lock)
            {
                return [.. _forbidden];
            }
        }
    }

    /// <summary>Starts every kind's loop; they run until <paramref name="cancellationToken"/> fires or the source is disposed.</summary>
    public void Start(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (_stopping is not null)
            {
                throw new InvalidOperationException("the Kubernetes source is already started");
            }

            _stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var token = _stopping.Token;
            _running = Task.WhenAll(_kinds.Select(k => Task.Run(() => k.RunAsync(token), CancellationToken.None)));
        }
    }

    public async ValueTask DisposeAsync()
    {
        CancellationTokenSource? stopping;
        lock (_lock)
        {
            stopping = _stopping;
        }

        if (stopping is not null)
        {
            await stopping.CancelAsync().ConfigureAwait(false);
            try
            {
                await _running.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            stopping.Dispose();
        }

        _client.Dispose();
        _meter.Dispose();
    }

    internal KubernetesSourceOptions Options => _options;

    internal WorldCache World => _world;

    internal ILogger Logger => _logger;

    internal TimeProvider Time => _time;

    internal KubernetesApiClient Client => _client;

    /// <summary>Records a kind's successful list; once every kind has listed, every list reports the source synced.</summary>
    internal void OnListed(KindSync sync)
    {
        bool all;
        lock (_lock)
        {
            _listed.Add(sync);
            all = _listed.Count == _kinds.Count;
        }

        if (all)
        {
            _world.ReportSynced(Name, _time.GetUtcNow());
        }
    }

    internal void OnError(string kind, string message) => _world.ReportError(Name, $"{kind}: {message}");

    /// <summary>The kind is not permitted (403); true the first time, to log once.</summary>
    internal bool OnForbidden(ResourceKind kind)
    {
        lock (_lock)
        {
            return _forbidden.Add(kind);
        }
    }

    /// <summary>The kind listed (again): the Role grants it.</summary>
    internal void OnPermitted(ResourceKind kind)
    {
        lock (_lock)
        {
            _forbidden.Remove(kind);
        }
    }

    private IEnumerable<Measurement<int>> ObserveForbidden()
    {
        foreach (var kind in ForbiddenKinds)
        {
            yield return new Measurement<int>(1, new KeyValuePair<string, object?>("kind", kind.ToString()));
        }
    }
}
