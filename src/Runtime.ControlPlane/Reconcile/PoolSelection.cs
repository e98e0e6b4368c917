using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Reconcile;

/// <summary>
/// Which endpoints this picker serves: the InferencePool named by <c>--pool-name</c>,
/// <c>--pool-namespace</c> and <c>--pool-group</c>, or, without CRDs, the pods matching
/// <c>--endpoint-selector</c> on <c>--endpoint-target-ports</c> (standalone mode).
/// </summary>
internal sealed record PoolSelection(string Namespace, string? PoolName, string PoolGroup)
{
    public const string DefaultNamespace = "default";

    /// <summary>Standalone mode: the selector and ports that stand in for a pool.</summary>
    public ValueDictionary? EndpointSelector { get; init; }

    public ValueList<int>? EndpointTargetPorts { get; init; }

    public bool IsStandalone => PoolName is null;

    public static PoolSelection ForPool(string name, string? @namespace = null, string? group = null) =>
        new(string.IsNullOrEmpty(@namespace) ? DefaultNamespace : @namespace, name, string.IsNullOrEmpty(group) ? PoolReference.DefaultGroup : group);

    public static PoolSelection Standalone(ValueDictionary selector, IEnumerable<int> targetPorts, string? @namespace = null) =>
        new(string.IsNullOrEmpty(@namespace) ? DefaultNamespace : @namespace, null, PoolReference.DefaultGroup)
        {
            EndpointSelector = selector,
            EndpointTargetPorts = new ValueList<int>(targetPorts),
        };

    /// <summary>Parses a Kubernetes label selector of <c>key=value</c> pairs (<c>a=b,c=d</c>).</summary>
    public static bool TryParseSelector(string text, out ValueDictionary selector, out string? error)
    {
        var entries = new List<KeyValuePair<string, string>>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var key = eq > 0 ? part[..eq].Trim() : string.Empty;
            var value = eq > 0 ? part[(eq + 1)..].TrimStart('=').Trim() : string.Empty;
            if (key.Length == 0 || key.EndsWith('!'))
            {
                selector = ValueDictionary.Empty;
                error = $"selector entry \"{part}\": expected key=value";
                return false;
            }

            entries.Add(new(key, value));
        }

        selector = ValueDictionary.From(entries);
        error = selector.Count == 0 ? "the selector is empty" : null;
        return error is null;
    }
}
