using System.Collections.Frozen;
using Runtime.Plugins.Lifecycle;

namespace Runtime.Plugins.Registry;

/// <summary>The effective on/off state of every registered feature gate: defaults from maturity, then the config's settings.</summary>
public sealed class FeatureGateSet
{
    private readonly FrozenDictionary<string, bool> _enabled;

    internal FeatureGateSet(IEnumerable<FeatureGate> gates, IReadOnlyDictionary<string, bool> settings)
    {
        var enabled = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var gate in gates)
        {
            enabled[gate.Name] = gate.IsLocked || (settings.TryGetValue(gate.Name, out var on) ? on : gate.EnabledByDefault);
        }

        _enabled = enabled.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public bool IsEnabled(string gate) => _enabled.TryGetValue(gate, out var on) && on;

    public IReadOnlyList<string> EnabledGates => _enabled.Where(g => g.Value).Select(g => g.Key).Order(StringComparer.Ordinal).ToArray();
}
