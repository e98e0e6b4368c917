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
public sealed class KubernetesSource : IAsyncDisposable
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
        _client = new KubernetesApiClient(access, _time);
        foreach (var kind in options.Kinds)
        {
            _kinds.Add(new KindSync(this, kind));
        }

        _world.RegisterSource(Name);
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
}
