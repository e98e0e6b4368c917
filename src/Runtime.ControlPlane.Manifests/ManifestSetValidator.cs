using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Manifests;

/// <summary>
/// Checks that hold across files: no (kind, namespace, name) twice, and every objective's and
/// rewrite's poolRef names an InferencePool of the set in its namespace and API group.
/// </summary>
internal static class ManifestSetValidator
{
    public static void Validate(List<ManifestItem> items, List<ManifestError> errors)
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
                errors.Add(new ManifestError(item.File, item.Line,
                    $"{Describe(item.Resource.Key)}: spec.poolRef names InferencePool \"{poolRef.Name}\", which is not in namespace \"{item.Resource.Meta.Namespace}\" of the manifests"));
            }
            else if (pool.Resource is InferencePoolResource { Group: var group } && group != poolRef.Group)
            {
                errors.Add(new ManifestError(item.File, item.Line,
                    $"{Describe(item.Resource.Key)}: spec.poolRef.group is \"{poolRef.Group}\" but InferencePool \"{poolRef.Name}\" is in group \"{group}\""));
            }
        }
    }

    private static string Describe(ResourceKey key) => $"{key.Kind} \"{key.Namespace}/{key.Name}\"";
}
