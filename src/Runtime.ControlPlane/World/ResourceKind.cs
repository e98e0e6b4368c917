namespace Runtime.ControlPlane.World;

/// <summary>The kinds of resource the control plane keeps in its world.</summary>
public enum ResourceKind
{
    InferencePool,
    InferenceObjective,
    InferenceModelRewrite,
    Pod,
    ConfigMap,
}

/// <summary>Identifies one resource in the world: kind, namespace and name.</summary>
internal readonly record struct ResourceKey(ResourceKind Kind, string Namespace, string Name)
{
    /// <summary>Orders by kind, namespace, then name (ordinal).</summary>
    public static readonly Comparison<ResourceKey> Order = (a, b) => a.CompareTo(b);

    private int CompareTo(ResourceKey other)
    {
        var byKind = Kind.CompareTo(other.Kind);
        if (byKind != 0)
        {
            return byKind;
        }

        var byNamespace = string.CompareOrdinal(Namespace, other.Namespace);
        return byNamespace != 0 ? byNamespace : string.CompareOrdinal(Name, other.Name);
    }

    public override string ToString() => $"{Kind} {Namespace}/{Name}";
}
