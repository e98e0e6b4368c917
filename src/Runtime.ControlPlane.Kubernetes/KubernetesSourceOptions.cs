using Runtime.ControlPlane.Kube;
using Runtime.ControlPlane.Kubernetes.Api;
using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Kubernetes;

/// <summary>How a kind is kept in sync.</summary>
internal enum KubernetesSyncMode
{
    /// <summary>List once, then watch from the list's resourceVersion (re-list only when the watch expires).</summary>
    Watch,

    /// <summary>List every relist interval and replace the kind ("state reconciler" mode); no watch.</summary>
    Relist,
}

/// <summary>One kind the source owns: how it syncs and which objects it selects.</summary>
internal sealed record KubernetesKindOptions(ResourceKind Kind)
{
    public KubernetesSyncMode Mode { get; init; } = KubernetesSyncMode.Watch;

    /// <summary>A Kubernetes label selector (<c>app=vllm,tier!=cache</c>), passed to the server as is.</summary>
    public string? LabelSelector { get; init; }

    /// <summary>A Kubernetes field selector (<c>status.phase=Running</c>), passed to the server as is.</summary>
    public string? FieldSelector { get; init; }

    /// <summary>Overrides <see cref="KubernetesSourceOptions.RelistInterval"/> for this kind.</summary>
    public TimeSpan? RelistInterval { get; init; }

    /// <summary>
    /// For objectives and rewrites: the API group to read (null: GIE's <c>inference.networking.x-k8s.io</c>;
    /// <c>llm-d.ai</c>: llm-d's CRDs). The same kind from several groups shares the world; each sync
    /// replaces only what it listed.
    /// </summary>
    public string? ApiGroup { get; init; }

    /// <summary>
    /// The CRD may not be installed: a 404 Not Found lists as empty (the source can still sync) and
    /// is checked again every relist interval, instead of being an error retried with back-off.
    /// </summary>
    public bool Optional { get; init; }

    /// <summary>How logs and errors name this sync: the kind, with its group when it is not the default.</summary>
    public string Describe() => ApiGroup is null ? Kind.ToString() : $"{Kind} ({ApiGroup})";
}

/// <summary>Tuning of <see cref="KubernetesSource"/>.</summary>
internal sealed record KubernetesSourceOptions
{
    /// <summary>
    /// The kinds the endpoint picker needs: pools, objectives, rewrites and pods, all watched; objectives
    /// and rewrites also from llm-d's own group (llm-d.ai/v1alpha2) when its CRDs are installed.
    /// </summary>
    public static readonly IReadOnlyList<KubernetesKindOptions> DefaultKinds =
    [
        new(ResourceKind.InferencePool),
        new(ResourceKind.InferenceObjective),
        new(ResourceKind.InferenceModelRewrite),
        new(ResourceKind.InferenceObjective) { ApiGroup = ResourceDecoder.LlmDGroup, Optional = true },
        new(ResourceKind.InferenceModelRewrite) { ApiGroup = ResourceDecoder.LlmDGroup, Optional = true },
        new(ResourceKind.Pod),
    ];

    /// <summary>The namespace to list and watch in; null or empty watches all namespaces.</summary>
    public string? Namespace { get; init; }

    /// <summary>The InferencePool API group (<c>--pool-group</c>): k8s.io serves v1, x-k8s.io serves v1alpha2.</summary>
    public string PoolGroup { get; init; } = ResourceDecoder.InferenceGroup;

    public IReadOnlyList<KubernetesKindOptions> Kinds { get; init; } = DefaultKinds;

    /// <summary>Objects per LIST page (<c>limit</c>).</summary>
    public int PageSize { get; init; } = 500;

    /// <summary>Asked of the server as <c>timeoutSeconds</c>; the watch then ends cleanly and resumes from its last resourceVersion.</summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Period of <see cref="KubernetesSyncMode.Relist"/> kinds.</summary>
    public TimeSpan RelistInterval { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Each back-off delay is spread by ± this fraction so that many replicas do not retry in step.</summary>
    public double BackoffJitter { get; init; } = 0.2;

    /// <summary>The longest watch event line accepted.</summary>
    public int MaxEventBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>Every problem of these options (empty when they are valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (PoolGroup is not (ResourceDecoder.InferenceGroup or ResourceDecoder.InferenceExperimentalGroup))
        {
            errors.Add($"PoolGroup: must be {ResourceDecoder.InferenceGroup} or {ResourceDecoder.InferenceExperimentalGroup}, not \"{PoolGroup}\"");
        }

        if (Kinds.Count == 0)
        {
            errors.Add("Kinds: at least one kind is needed");
        }

        foreach (var duplicate in Kinds.GroupBy(k => (k.Kind, k.ApiGroup)).Where(g => g.Count() > 1))
        {
            errors.Add($"Kinds: {duplicate.First().Describe()} is listed more than once");
        }

        foreach (var kind in Kinds.Where(k => k.ApiGroup is not null && k.Kind is not (ResourceKind.InferenceObjective or ResourceKind.InferenceModelRewrite)))
        {
            errors.Add($"Kinds: {kind.Describe()}: an API group can be chosen for objectives and rewrites only");
        }

        for (var i = 0; i < Kinds.Count; i++)
        {
            if (Kinds[i].RelistInterval is { } interval && interval <= TimeSpan.Zero)
            {
                errors.Add($"Kinds[{i}].RelistInterval: must be positive");
            }
        }

        if (PageSize < 1)
        {
            errors.Add("PageSize: must be at least 1");
        }

        if (WatchTimeout < TimeSpan.FromSeconds(1))
        {
            errors.Add("WatchTimeout: must be at least one second");
        }

        if (RelistInterval <= TimeSpan.Zero)
        {
            errors.Add("RelistInterval: must be positive");
        }

        if (InitialBackoff <= TimeSpan.Zero || MaxBackoff < InitialBackoff)
        {
            errors.Add("InitialBackoff, MaxBackoff: need 0 < InitialBackoff <= MaxBackoff");
        }

        if (BackoffJitter is < 0 or >= 1)
        {
            errors.Add("BackoffJitter: must be in [0, 1)");
        }

        if (MaxEventBytes < 1024)
        {
            errors.Add("MaxEventBytes: must be at least 1024");
        }

        return errors;
    }

    internal string CollectionPath(KubernetesKindOptions kind) => KubernetesPaths.Collection(kind.Kind, Namespace, PoolGroup, kind.ApiGroup);
}
