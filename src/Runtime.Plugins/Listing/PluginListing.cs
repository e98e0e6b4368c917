using Runtime.Plugins.Lifecycle;
using Runtime.Plugins.Registry;

namespace Runtime.Plugins.Listing;

/// <summary>The machine-readable listing behind <c>runtime plugins --output json</c>.</summary>
internal sealed record PluginListing(
    IReadOnlyList<FeatureGateEntry> FeatureGates,
    IReadOnlyList<PluginTypeEntry> Plugins,
    IReadOnlyList<TombstoneEntry> Tombstones,
    IReadOnlyList<string> RegistrationErrors)
{
    public static PluginListing From(PluginRegistryBuildResult build)
    {
        var registry = build.Registry;
        var gates = registry.FeatureGates
            .Select(g => new FeatureGateEntry(g.Name, g.Stability, g.EnabledByDefault, g.IsLocked, g.Description))
            .ToArray();
        var plugins = registry.Registrations.Select(r => new PluginTypeEntry(
                r.TypeName,
                PluginKindNames.Of(r.Kinds),
                r.Stability,
                r.FeatureGate,
                r.FeatureGate is null || (registry.TryGetFeatureGate(r.FeatureGate, out var gate) && gate.EnabledByDefault),
                r.IsAvailable,
                r.Parameters.FieldNames,
                r.Deprecation is null ? null : new DeprecationEntry(r.Deprecation.Message, r.Deprecation.Replacements),
                r.Description,
                r.Unavailable ?? (r.Factory is null ? "no implementation in this build" : null)))
            .ToArray();
        var tombstones = registry.Tombstones
            .Select(t => new TombstoneEntry(t.TypeName, t.RemovedIn, t.Guidance, t.Replacements))
            .ToArray();
        return new PluginListing(gates, plugins, tombstones, build.Errors.Select(e => e.ToString()).ToArray());
    }
}

/// <param name="Locked">Stable gates are always on and cannot be switched off.</param>
internal sealed record FeatureGateEntry(string Name, StabilityLevel Stability, bool EnabledByDefault, bool Locked, string Description);

/// <param name="EnabledByDefault">Usable without touching <c>featureGates</c>.</param>
/// <param name="Implemented">Usable in this build. False for a type declared unavailable (configs naming it fail validation with <paramref name="Unavailable"/>) or missing its implementation.</param>
/// <param name="Unavailable">Why the type cannot be used in this build, or null.</param>
internal sealed record PluginTypeEntry(
    string Type,
    IReadOnlyList<string> Kinds,
    StabilityLevel Stability,
    string? FeatureGate,
    bool EnabledByDefault,
    bool Implemented,
    IReadOnlyList<string> Parameters,
    DeprecationEntry? Deprecation,
    string Description,
    string? Unavailable = null);

internal sealed record DeprecationEntry(string Message, IReadOnlyList<string> Replacements);

internal sealed record TombstoneEntry(string Type, string RemovedIn, string Guidance, IReadOnlyList<string> Replacements);
