using Microsoft.Extensions.Logging;
using Runtime.ControlPlane.Kubernetes;
using Runtime.ControlPlane.Kubernetes.Access;
using Runtime.ControlPlane.Manifests;
using Runtime.ControlPlane.Reconcile;
using Runtime.ControlPlane.World;
using Runtime.Host.Serve;

namespace Runtime.Host.ControlPlane;

/// <summary>Builds the world source the flags ask for: a manifests directory, else the Kubernetes API.</summary>
internal static class WorldSources
{
    public static IWorldSource? TryCreate(ServeOptions options, PoolSelection selection, WorldCache cache, ILoggerFactory loggers, List<string> errors)
    {
        if (!string.IsNullOrEmpty(options.ManifestsDir))
        {
            var manifests = new ManifestDirectorySource(options.ManifestsDir, cache, new ManifestSourceOptions { DefaultNamespace = selection.Namespace }, loggers.CreateLogger<ManifestDirectorySource>());
            return new Manifests(manifests);
        }

        KubernetesAccess access;
        try
        {
            access = KubernetesAccess.Resolve(string.IsNullOrEmpty(options.Kubeconfig) ? null : options.Kubeconfig);
        }
        catch (KubernetesConfigException ex)
        {
            errors.Add("cannot reach the Kubernetes API: " + ex.Message + " (outside a cluster, give --kubeconfig, or --manifests-dir for a directory of manifests)");
            return null;
        }

        var sourceOptions = KubernetesOptions(options, selection);
        var problems = sourceOptions.Validate();
        if (problems.Count > 0)
        {
            errors.AddRange(problems);
            return null;
        }

        return new Kubernetes(new KubernetesSource(access, sourceOptions, cache, loggers.CreateLogger<KubernetesSource>()));
    }

    /// <summary>
    /// What to list and watch: the pool's namespace only (as the Go picker scopes its cache); in
    /// standalone mode just the selected pods. ConfigMaps only with the body-based router's label.
    /// </summary>
    internal static KubernetesSourceOptions KubernetesOptions(ServeOptions options, PoolSelection selection)
    {
        var mode = options.KubeRelistInterval > TimeSpan.Zero ? KubernetesSyncMode.Relist : KubernetesSyncMode.Watch;
        var configMaps = new KubernetesKindOptions(ResourceKind.ConfigMap) { Mode = mode, LabelSelector = TopologyBuilder.BaseModelConfigMapLabel + "=true" };
        IReadOnlyList<KubernetesKindOptions> kinds = selection.IsStandalone
            ? [new KubernetesKindOptions(ResourceKind.Pod) { Mode = mode, LabelSelector = selection.EndpointSelector!.ToString() }, configMaps]
            : [.. KubernetesSourceOptions.DefaultKinds.Select(k => k with { Mode = mode }), configMaps];
        return new KubernetesSourceOptions
        {
            Namespace = selection.Namespace,
            PoolGroup = selection.PoolGroup,
            Kinds = kinds,
            RelistInterval = options.KubeRelistInterval > TimeSpan.Zero ? options.KubeRelistInterval : new KubernetesSourceOptions().RelistInterval,
        };
    }

    private sealed class Manifests(ManifestDirectorySource source) : IWorldSource
    {
        public void Start() => source.Start();

        public ValueTask DisposeAsync()
        {
            source.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class Kubernetes(KubernetesSource source) : IWorldSource
    {
        public void Start() => source.Start();

        public ValueTask DisposeAsync() => source.DisposeAsync();
    }
}
