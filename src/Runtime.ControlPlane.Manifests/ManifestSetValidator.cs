using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Manifests;

/// <summary>
/// Checks that hold across files: no (kind, namespace, name) twice (an error: which one wins would
/// be an accident). An objective or rewrite whose poolRef names no InferencePool of the set (in its
/// namespace and API group) is not an error: Kubernetes accepts it and the Go endpoint picker
/// ignores it, so it is published, matches no pool, and is reported as a warning.
/// </summary>
internal static class ManifestSetValidator
{
    public static void Validate(List<ManifestItem> items, List<ManifestError> errors, List<ManifestError> warnings)
    {
        var first = new Dictionary<ResourceKey, ManifestItem>();
        var duplicates = new HashSet<ManifestItem>();
        foreach (var item in items)
        {
            if (!first.TryAdd(item.Resource.Key, item))
            {
                var original = first[item.Resource.Key];
                errors.Add(new ManifestError(item.File, item.Line,
                    $"duplicate {Describe(item.Resource.Key)} (first defined at {original.File}:{original.Line})"));
                duplicates.Add(item);
            }
        }

        foreach (var item in items)
        {
            var poolRef = item.Resource switch
            {
                InferenceObjectiveResource objective => objective.PoolRef,
                InferenceModelRewriteResource rewrite => rewrite.PoolRef,
                _ => null,
            };
            if (poolRef is null || duplicates.Contains(item))
            {
                continue;
            }

            var poolKey = new ResourceKey(ResourceKind.InferencePool, item.Resource.Meta.Namespace, poolRef.Name);
            if (!first.TryGetValue(poolKey, out var pool))
            {
                warnings.Add(new ManifestError(item.File, item.Line,
                    $"{Describe(item.Resource.Key)}: ignored: spec.poolRef names InferencePool \"{poolRef.Name}\", which is not in namespace \"{item.Resource.Meta.Namespace}\" of the manifests"));
            }
            else if (pool.Resource is InferencePoolResource { Group: var group } && group != poolRef.Group)
            {
                warnings.Add(new ManifestError(item.File, item.Line,
                    $"{Describe(item.Resource.Key)}: ignored: spec.poolRef.group is \"{poolRef.Group}\" but InferencePool \"{poolRef.Name}\" is in group \"{group}\""));
            }
        }
    }

    private static string Describe(ResourceKey key) => $"{key.Kind} \"{key.Namespace}/{key.Name}\"";
}
