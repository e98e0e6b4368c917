namespace Runtime.ControlPlane.World;

/// <summary>
/// Object metadata the control plane uses. Equality ignores <see cref="ResourceVersion"/>: a
/// resource whose modelled content did not change (a status-only update, an identical re-list,
/// a file rewritten with the same text) is not a change.
/// </summary>
internal sealed record ResourceMeta(string Namespace, string Name)
{
    public ValueDictionary Labels { get; init; } = ValueDictionary.Empty;

    public ValueDictionary Annotations { get; init; } = ValueDictionary.Empty;

    public DateTimeOffset? CreationTimestamp { get; init; }

    public string? ResourceVersion { get; init; }

    public bool Equals(ResourceMeta? other) =>
        other is not null && Namespace == other.Namespace && Name == other.Name && Labels.Equals(other.Labels)
        && Annotations.Equals(other.Annotations) && CreationTimestamp == other.CreationTimestamp;

    public override int GetHashCode() => HashCode.Combine(Namespace, Name, Labels, Annotations);
}

/// <summary>One resource of the world, decoded from Kubernetes JSON or a manifest file.</summary>
internal abstract record Resource(ResourceMeta Meta)
{
    public abstract ResourceKind Kind { get; }

    public ResourceKey Key => new(Kind, Meta.Namespace, Meta.Name);
}

/// <summary>A reference from an objective or rewrite to its InferencePool (same namespace).</summary>
internal sealed record PoolReference(string Group, string Name)
{
    public const string DefaultGroup = "inference.networking.k8s.io";
}

/// <summary><c>InferencePool</c> (inference.networking.k8s.io/v1): which pods, on which ports.</summary>
internal sealed record InferencePoolResource(ResourceMeta Meta, string Group, ValueDictionary Selector, ValueList<int> TargetPorts) : Resource(Meta)
{
    public override ResourceKind Kind => ResourceKind.InferencePool;

    public string? AppProtocol { get; init; }

    public string? EndpointPickerName { get; init; }
}

/// <summary><c>InferenceObjective</c> (inference.networking.x-k8s.io/v1alpha2): a request class's priority in a pool.</summary>
internal sealed record InferenceObjectiveResource(ResourceMeta Meta, int Priority, PoolReference PoolRef) : Resource(Meta)
{
    public override ResourceKind Kind => ResourceKind.InferenceObjective;
}

/// <summary>A rewrite target and its relative weight.</summary>
internal sealed record WeightedModel(string Model, int Weight);

/// <summary>One rule: exact model names it matches (none = every model no other rule matched) and its targets.</summary>
internal sealed record ModelRewriteRule(ValueList<string> Models, ValueList<WeightedModel> Targets);

/// <summary><c>InferenceModelRewrite</c> (v1alpha2): model aliasing, fallbacks and weighted traffic splits in a pool.</summary>
internal sealed record InferenceModelRewriteResource(ResourceMeta Meta, PoolReference PoolRef, ValueList<ModelRewriteRule> Rules) : Resource(Meta)
{
    public override ResourceKind Kind => ResourceKind.InferenceModelRewrite;
}

/// <summary>The parts of a Pod the endpoint picker needs.</summary>
internal sealed record PodResource(ResourceMeta Meta, string? PodIP, bool Ready) : Resource(Meta)
{
    public override ResourceKind Kind => ResourceKind.Pod;

    /// <summary>A deletion timestamp is set: the pod is going away and takes no new requests.</summary>
    public bool Terminating { get; init; }
}

/// <summary>A ConfigMap (the body-based router's base-model mappings).</summary>
internal sealed record ConfigMapResource(ResourceMeta Meta, ValueDictionary Data) : Resource(Meta)
{
    public override ResourceKind Kind => ResourceKind.ConfigMap;
}
