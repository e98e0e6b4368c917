using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using Runtime.Plugins.Lifecycle;

namespace Runtime.Plugins.Registry;

/// <summary>
/// The immutable set of plugin types, feature gates and tombstones this process knows, built by
/// <see cref="PluginRegistryBuilder"/> (which reports invalid registrations instead of throwing).
/// </summary>
public sealed class PluginRegistry
{
    private readonly FrozenDictionary<string, PluginRegistration> _types;
    private readonly FrozenDictionary<string, PluginTombstone> _tombstones;
    private readonly FrozenDictionary<string, FeatureGate> _gates;

    internal PluginRegistry(IReadOnlyList<PluginRegistration> registrations, IReadOnlyList<PluginTombstone> tombstones, IReadOnlyList<FeatureGate> gates)
    {
        Registrations = registrations;
        Tombstones = tombstones;
        FeatureGates = gates;
        _types = registrations.ToFrozenDictionary(r => r.TypeName, StringComparer.Ordinal);
        _tombstones = tombstones.ToFrozenDictionary(t => t.TypeName, StringComparer.Ordinal);
        _gates = gates.ToFrozenDictionary(g => g.Name, StringComparer.Ordinal);
    }

    /// <summary>In registration order, which is the order listings show.</summary>
    public IReadOnlyList<PluginRegistration> Registrations { get; }

    public IReadOnlyList<PluginTombstone> Tombstones { get; }

    public IReadOnlyList<FeatureGate> FeatureGates { get; }

    public bool TryGet(string typeName, [NotNullWhen(true)] out PluginRegistration? registration) =>
        _types.TryGetValue(typeName, out registration);

    public bool TryGetTombstone(string typeName, [NotNullWhen(true)] out PluginTombstone? tombstone) =>
        _tombstones.TryGetValue(typeName, out tombstone);

    public bool TryGetFeatureGate(string name, [NotNullWhen(true)] out FeatureGate? gate) => _gates.TryGetValue(name, out gate);

    /// <summary>Gate states for a config's settings (already validated: known gates, Stable ones not switched off).</summary>
    public FeatureGateSet ResolveFeatureGates(IReadOnlyDictionary<string, bool> settings) => new(FeatureGates, settings);

    /// <summary>Whether a type may be used under <paramref name="gates"/>: ungated, or its gate is on.</summary>
    public static bool IsEnabled(PluginRegistration registration, FeatureGateSet gates) =>
        registration.FeatureGate is null || gates.IsEnabled(registration.FeatureGate);
}
