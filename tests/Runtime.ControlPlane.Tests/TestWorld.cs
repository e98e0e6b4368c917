using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Tests;

/// <summary>Builders for world resources, so tests read like the manifests they stand for.</summary>
internal static class TestWorld
{
    public const string Ns = "default";

    public static ResourceMeta Meta(string name, string ns = Ns, IEnumerable<KeyValuePair<string, string>>? labels = null, IEnumerable<KeyValuePair<string, string>>? annotations = null, DateTimeOffset? created = null) =>
        new(ns, name) { Labels = ValueDictionary.From(labels), Annotations = ValueDictionary.From(annotations), CreationTimestamp = created };

    public static KeyValuePair<string, string> L(string key, string value) => new(key, value);

    public static InferencePoolResource Pool(string name = "pool", string app = "vllm", params int[] ports) =>
        new(Meta(name), ResourceDecoderGroup, ValueDictionary.From([L("app", app)]), new ValueList<int>(ports.Length == 0 ? [8000] : ports));

    public static PodResource Pod(string name, string ip, string app = "vllm", bool ready = true, string ns = Ns, string? activePorts = null) =>
        new(Meta(name, ns, [L("app", app)], activePorts is null ? null : [L("inference.networking.k8s.io/active-ports", activePorts)]), ip, ready);

    public static InferenceObjectiveResource Objective(string name, int priority, string pool = "pool") =>
        new(Meta(name), priority, new PoolReference(PoolReference.DefaultGroup, pool));

    public static InferenceModelRewriteResource Rewrite(string name, DateTimeOffset created, params ModelRewriteRule[] rules) =>
        new(Meta(name, created: created), new PoolReference(PoolReference.DefaultGroup, "pool"), new ValueList<ModelRewriteRule>(rules));

    public static ModelRewriteRule Rule(string[] models, params (string Model, int Weight)[] targets) =>
        new(new ValueList<string>(models), new ValueList<WeightedModel>(targets.Select(t => new WeightedModel(t.Model, t.Weight))));

    public static ConfigMapResource BbrConfigMap(string name, string baseModel, string adapters) =>
        new(Meta(name, labels: [L("inference.networking.k8s.io/bbr-managed", "true")]), ValueDictionary.From([L("baseModel", baseModel), L("adapters", adapters)]));

    private const string ResourceDecoderGroup = "inference.networking.k8s.io";
}
