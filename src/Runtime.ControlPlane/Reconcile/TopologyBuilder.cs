using System.Globalization;
using Runtime.ControlPlane.World;
using Runtime.Endpoints;

namespace Runtime.ControlPlane.Reconcile;

/// <summary>Builds a <see cref="Topology"/> from a whole world, following the Go endpoint picker's rules.</summary>
internal static class TopologyBuilder
{
    /// <summary>Optional pod annotation: comma-separated target ports that serve (others get no endpoint; ranks keep their index).</summary>
    public const string ActivePortsAnnotation = "inference.networking.k8s.io/active-ports";

    /// <summary>The label that marks a ConfigMap as base-model mappings for the body-based router.</summary>
    public const string BaseModelConfigMapLabel = "inference.networking.k8s.io/bbr-managed";

    public static Topology Build(WorldSnapshot world, PoolSelection selection)
    {
        ValueDictionary selector;
        IReadOnlyList<int> ports;
        InferencePoolResource? pool = null;
        if (selection.IsStandalone)
        {
            selector = selection.EndpointSelector ?? ValueDictionary.Empty;
            ports = selection.EndpointTargetPorts ?? ValueList<int>.Empty;
        }
        else
        {
            if (!world.TryGet(new ResourceKey(ResourceKind.InferencePool, selection.Namespace, selection.PoolName!), out var found)
                || found is not InferencePoolResource candidate
                || candidate.Group != selection.PoolGroup)
            {
                return new Topology { BaseModelConfigMaps = BaseModelConfigMaps(world, selection.Namespace) };
            }

            pool = candidate;
            selector = pool.Selector;
            ports = pool.TargetPorts;
        }

        var objectives = Objectives(world, selection);
        var (rewrites, fallback, rewriteNames, fallbackName) = Rewrites(world, selection);
        return new Topology
        {
            Pool = pool,
            PoolFound = true,
            Endpoints = Endpoints(world, selection.Namespace, selector, ports),
            ObjectivePriorities = objectives,
            DesiredPriorities = [.. objectives.Values.Append(0).Distinct().Order()],
            Rewrites = rewrites,
            FallbackRewrite = fallback,
            RewriteNames = rewriteNames,
            FallbackRewriteName = fallbackName,
            BaseModelConfigMaps = BaseModelConfigMaps(world, selection.Namespace),
        };
    }

    private static List<Endpoint> Endpoints(WorldSnapshot world, string @namespace, ValueDictionary selector, IReadOnlyList<int> ports)
    {
        var endpoints = new List<Endpoint>();
        if (selector.Count == 0)
        {
            return endpoints;
        }

        foreach (var pod in world.Of<PodResource>(ResourceKind.Pod))
        {
            if (pod.Meta.Namespace != @namespace || !pod.Ready || pod.Terminating || string.IsNullOrEmpty(pod.PodIP)
                || !pod.Meta.Labels.Matches(selector))
            {
                continue;
            }

            var active = ActivePorts(pod);
            for (var rank = 0; rank < ports.Count; rank++)
            {
                if (active is null || active.Contains(ports[rank]))
                {
                    endpoints.Add(new Endpoint(string.Create(CultureInfo.InvariantCulture, $"{pod.Meta.Name}-rank-{rank}"), pod.PodIP, ports[rank], pod.Meta.Labels));
                }
            }
        }

        endpoints.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return endpoints;
    }

    private static HashSet<int>? ActivePorts(PodResource pod)
    {
        if (!pod.Meta.Annotations.TryGetValue(ActivePortsAnnotation, out var text))
        {
            return null;
        }

        var active = new HashSet<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            {
                active.Add(port);
            }
        }

        return active;
    }

    private static Dictionary<string, int> Objectives(WorldSnapshot world, PoolSelection selection)
    {
        var priorities = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var objective in world.Of<InferenceObjectiveResource>(ResourceKind.InferenceObjective))
        {
            if (objective.Meta.Namespace == selection.Namespace && References(objective.PoolRef, selection))
            {
                priorities[objective.Meta.Name] = objective.Priority;
            }
        }

        return priorities;
    }

    private static (Dictionary<string, IReadOnlyList<WeightedModel>> Exact, IReadOnlyList<WeightedModel>? Fallback, Dictionary<string, string> Names, string? FallbackName) Rewrites(WorldSnapshot world, PoolSelection selection)
    {
        var exact = new Dictionary<string, IReadOnlyList<WeightedModel>>(StringComparer.Ordinal);
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        IReadOnlyList<WeightedModel>? fallback = null;
        string? fallbackName = null;

        // The oldest rewrite wins a conflict, then the first rule within it; name breaks ties.
        var rewrites = world.Of<InferenceModelRewriteResource>(ResourceKind.InferenceModelRewrite)
            .Where(r => r.Meta.Namespace == selection.Namespace && References(r.PoolRef, selection))
            .OrderBy(r => r.Meta.CreationTimestamp ?? DateTimeOffset.MaxValue)
            .ThenBy(r => r.Meta.Name, StringComparer.Ordinal);
        foreach (var rewrite in rewrites)
        {
            foreach (var rule in rewrite.Rules)
            {
                if (rule.Targets.Count == 0)
                {
                    continue;
                }

                if (rule.Models.Count == 0)
                {
                    if (fallback is null)
                    {
                        fallback = rule.Targets;
                        fallbackName = rewrite.Meta.Name;
                    }

                    continue;
                }

                foreach (var model in rule.Models)
                {
                    if (exact.TryAdd(model, rule.Targets))
                    {
                        names[model] = rewrite.Meta.Name;
                    }
                }
            }
        }

        return (exact, fallback, names, fallbackName);
    }

    private static bool References(PoolReference poolRef, PoolSelection selection) =>
        selection.IsStandalone || (poolRef.Name == selection.PoolName && poolRef.Group == selection.PoolGroup);

    private static ConfigMapResource[] BaseModelConfigMaps(WorldSnapshot world, string @namespace) =>
        [.. world.Of<ConfigMapResource>(ResourceKind.ConfigMap)
            .Where(c => c.Meta.Namespace == @namespace && c.Meta.Labels.TryGetValue(BaseModelConfigMapLabel, out var managed) && managed == "true")
            .OrderBy(c => c.Meta.Name, StringComparer.Ordinal)];
}
