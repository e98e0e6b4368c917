using Runtime.ControlPlane.World;
using Runtime.Endpoints;

namespace Runtime.ControlPlane.Reconcile;

/// <summary>
/// What one world means for this picker, computed whole each round: the pool, its endpoints, the
/// objectives' priorities, the model rewrites, the priority bands flow control should have, and the
/// body-based router's base-model ConfigMaps. Immutable.
/// </summary>
internal sealed class Topology
{
    public static readonly Topology Empty = new();

    /// <summary>The selected pool; null when it does not exist (yet) or in standalone mode.</summary>
    public InferencePoolResource? Pool { get; init; }

    /// <summary>True when there is something to serve: the pool exists, or standalone mode.</summary>
    public bool PoolFound { get; init; }

    /// <summary>Ready pods × target ports, sorted by name.</summary>
    public IReadOnlyList<Endpoint> Endpoints { get; init; } = [];

    /// <summary>Objective name → priority, for the objectives that reference the pool.</summary>
    public IReadOnlyDictionary<string, int> ObjectivePriorities { get; init; } = new Dictionary<string, int>();

    /// <summary>Exact model name → weighted targets (the oldest rewrite wins a conflict).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<WeightedModel>> Rewrites { get; init; } = new Dictionary<string, IReadOnlyList<WeightedModel>>();

    /// <summary>Targets for a model no exact rule matched (a rule with no matches); null when none.</summary>
    public IReadOnlyList<WeightedModel>? FallbackRewrite { get; init; }

    /// <summary>Model → name of the InferenceModelRewrite whose rule <see cref="Rewrites"/> holds (a metric label).</summary>
    public IReadOnlyDictionary<string, string> RewriteNames { get; init; } = new Dictionary<string, string>();

    /// <summary>Name of the InferenceModelRewrite <see cref="FallbackRewrite"/> came from.</summary>
    public string? FallbackRewriteName { get; init; }

    /// <summary>The priority bands the world asks for: every objective's priority and 0, sorted.</summary>
    public IReadOnlyList<int> DesiredPriorities { get; init; } = [0];

    /// <summary>ConfigMaps labelled for the body-based router in the pool's namespace, by name.</summary>
    public IReadOnlyList<ConfigMapResource> BaseModelConfigMaps { get; init; } = [];
}
