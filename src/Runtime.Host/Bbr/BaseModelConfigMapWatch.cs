using Microsoft.Extensions.Logging;
using Runtime.Bbr.Mappings;
using Runtime.ControlPlane.Kubernetes;
using Runtime.ControlPlane.Kubernetes.Access;
using Runtime.ControlPlane.Reconcile;
using Runtime.ControlPlane.World;

namespace Runtime.Host.Bbr;

/// <summary>Where <c>runtime bbr</c> reads its base-model mappings from.</summary>
internal enum BaseModelMappingOrigin
{
    /// <summary>No source: every model's base-model header is empty.</summary>
    None,

    /// <summary><c>--base-model-mappings-dir</c>: YAML files in the ConfigMap shape (the edge).</summary>
    Directory,

    /// <summary>bbr-managed ConfigMaps listed and watched through the API server, as the Go router does.</summary>
    Kubernetes,
}

/// <summary>
/// The Go body-based router's ConfigMap reconciler for <c>runtime bbr</c>: the control plane's
/// Kubernetes source (list, watch, 410 re-list, back-off, 403 served as empty and logged once)
/// with one kind, ConfigMaps labelled <c>inference.networking.k8s.io/bbr-managed=true</c>, in
/// <c>$NAMESPACE</c> or every namespace; each change of that set is published into the mapping
/// source the <c>base-model-to-header</c> plugin reads. The router serves from the start: until
/// (or without) a list, unknown models get an empty header.
/// </summary>
internal sealed partial class BaseModelConfigMapWatch : IAsyncDisposable
{
    private readonly WorldCache _world = new();
    private readonly KubernetesSource _source;
    private readonly BaseModelMappingSource _target;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;

    public BaseModelConfigMapWatch(KubernetesAccess access, KubernetesSourceOptions options, BaseModelMappingSource target, ILoggerFactory loggers)
    {
        _source = new KubernetesSource(access, options, _world, loggers.CreateLogger<KubernetesSource>());
        _target = target;
        _logger = loggers.CreateLogger<BaseModelConfigMapWatch>();
    }

    /// <summary>
    /// Kubernetes when an API server is at hand: <c>--kubeconfig</c>, or in a cluster
    /// (<c>KUBERNETES_SERVICE_HOST</c>), or <c>$KUBECONFIG</c>; a directory when given instead.
    /// </summary>
    public static BaseModelMappingOrigin Choose(string? mappingsDir, string? kubeconfig, Func<string, string?> environment)
    {
        if (!string.IsNullOrEmpty(mappingsDir))
        {
            return BaseModelMappingOrigin.Directory;
        }

        return HasApiServer(kubeconfig, environment) ? BaseModelMappingOrigin.Kubernetes : BaseModelMappingOrigin.None;
    }

    /// <summary>An API server is at hand: <c>--kubeconfig</c>, in a cluster, or <c>$KUBECONFIG</c>.</summary>
    public static bool HasApiServer(string? kubeconfig, Func<string, string?> environment) =>
        !string.IsNullOrEmpty(kubeconfig)
        || !string.IsNullOrEmpty(environment("KUBERNETES_SERVICE_HOST"))
        || !string.IsNullOrEmpty(environment("KUBECONFIG"));

    /// <summary>One kind, ConfigMaps with the router's label, in <paramref name="namespace"/> (null or empty: all namespaces).</summary>
    public static KubernetesSourceOptions SourceOptions(string? @namespace) => new()
    {
        Namespace = string.IsNullOrEmpty(@namespace) ? null : @namespace,
        Kinds = [new KubernetesKindOptions(ResourceKind.ConfigMap) { LabelSelector = TopologyBuilder.BaseModelConfigMapLabel + "=true" }],
    };

    /// <summary>
    /// Starts the watch when the chain maps base models and the mappings come from Kubernetes. An
    /// explicit <c>--kubeconfig</c> that cannot be used is an error (false); access guessed from the
    /// environment that cannot be used is logged and the router serves without mappings.
    /// </summary>
    public static bool TryStart(
        BaseModelMappingOrigin origin, bool chainMapsBaseModels, string? kubeconfig, BaseModelMappingSource target, ILoggerFactory loggers, out BaseModelConfigMapWatch? watch, out string? error)
    {
        watch = null;
        error = null;
        var logger = loggers.CreateLogger<BaseModelConfigMapWatch>();
        if (!chainMapsBaseModels || origin == BaseModelMappingOrigin.Directory)
        {
            return true;
        }

        if (origin == BaseModelMappingOrigin.None)
        {
            Log.NoSource(logger);
            return true;
        }

        KubernetesAccess access;
        try
        {
            access = KubernetesAccess.Resolve(string.IsNullOrEmpty(kubeconfig) ? null : kubeconfig);
        }
        catch (KubernetesConfigException ex)
        {
            if (!string.IsNullOrEmpty(kubeconfig))
            {
                error = "cannot reach the Kubernetes API: " + ex.Message;
                return false;
            }

            Log.NoAccess(logger, ex.Message);
            return true;
        }

        var @namespace = Environment.GetEnvironmentVariable("NAMESPACE");
        watch = new BaseModelConfigMapWatch(access, SourceOptions(@namespace), target, loggers);
        Log.Watching(logger, TopologyBuilder.BaseModelConfigMapLabel, string.IsNullOrEmpty(@namespace) ? "all namespaces" : $"namespace {@namespace}", access.Server.ToString());
        watch.Start();
        return true;
    }

    public void Start()
    {
        _source.Start(_stopping.Token);
        _loop = Task.Run(() => RunAsync(_stopping.Token));
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var published = -1L;
        while (!cancellationToken.IsCancellationRequested)
        {
            // The version first: a change landing after it wakes the wait below.
            var version = _world.Version;
            var world = _world.Current;
            if (world.Generation != published)
            {
                published = world.Generation;
                try
                {
                    Publish(world);
                }
#pragma warning disable CA1031 // A ConfigMap that breaks the parser must not end the watch; the last mappings stay.
                catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
                {
                    Log.PublishFailed(_logger, ex);
                }
            }

            try
            {
                await _world.WaitForChangeAsync(version, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Publish(WorldSnapshot world)
    {
        var configMaps = world.Of<ConfigMapResource>(ResourceKind.ConfigMap)
            .Where(c => c.Meta.Labels.TryGetValue(TopologyBuilder.BaseModelConfigMapLabel, out var managed) && managed == "true")
            .Select(c => KeyValuePair.Create($"{c.Meta.Namespace}/{c.Meta.Name}", (IReadOnlyDictionary<string, string>)c.Data));
        var result = _target.ApplyConfigMaps(configMaps);
        foreach (var problem in result.NewProblems)
        {
            Log.BadConfigMap(_logger, problem);
        }

        if (result.Changed)
        {
            Log.Published(_logger, result.ConfigMaps, result.Mappings.Count);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        await _source.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(40, LogLevel.Information, "Base-model mappings: watching ConfigMaps labelled {Label}=true in {Scope} through {Server}")]
        public static partial void Watching(ILogger logger, string label, string scope, string server);

        [LoggerMessage(41, LogLevel.Information, "Base-model mappings from {ConfigMaps} ConfigMaps: {Models} models")]
        public static partial void Published(ILogger logger, int configMaps, int models);

        [LoggerMessage(42, LogLevel.Warning, "Base-model mappings: {Problem}")]
        public static partial void BadConfigMap(ILogger logger, string problem);

        [LoggerMessage(43, LogLevel.Warning, "Base-model mappings: no access to the Kubernetes API ({Reason}); serving without them, X-Gateway-Base-Model-Name is empty for every model")]
        public static partial void NoAccess(ILogger logger, string reason);

        [LoggerMessage(45, LogLevel.Error, "Base-model mappings: applying the ConfigMaps failed; the previous mappings stay")]
        public static partial void PublishFailed(ILogger logger, Exception exception);

        [LoggerMessage(44, LogLevel.Information, "Base-model mappings: none (not in a cluster, no --kubeconfig or $KUBECONFIG, no --base-model-mappings-dir); X-Gateway-Base-Model-Name is empty for every model")]
        public static partial void NoSource(ILogger logger);
    }
}
