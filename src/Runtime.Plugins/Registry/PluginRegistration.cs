using Runtime.Plugins.Lifecycle;
using Runtime.Plugins.Parameters;

namespace Runtime.Plugins.Registry;

/// <summary>
/// Everything the runtime knows about one plugin type: what it is for, how mature it is, what
/// gates it, how its parameters are checked, and (once its implementation is in the build) how to
/// build it.
/// </summary>
public sealed record PluginRegistration
{
    /// <summary>The name configs use in <c>type:</c>, lower-case words joined by dashes.</summary>
    public required string TypeName { get; init; }

    public required PluginKinds Kinds { get; init; }

    public required StabilityLevel Stability { get; init; }

    /// <summary>The feature gate that switches this type on or off. Optional for Alpha (then an Alpha gate) and Beta, not allowed for Stable.</summary>
    public string? FeatureGate { get; init; }

    /// <summary>Required exactly when <see cref="Stability"/> is Deprecated.</summary>
    public PluginDeprecation? Deprecation { get; init; }

    public string Description { get; init; } = string.Empty;

    public IPluginParameterBinder Parameters { get; init; } = PluginParameterBinders.None;

    /// <summary>
    /// Builds live instances. Null until the project that implements the type supplies it
    /// (<see cref="PluginRegistryBuilder.UseFactory"/>); such a type validates but cannot run.
    /// </summary>
    public PluginFactory? Factory { get; init; }

    /// <summary>
    /// Why this build cannot run the type at all (for instance, it needs an external service we do not
    /// ship). Such a type is known, so its name is never "unknown", but any configuration using it
    /// fails validation with this reason; it is never reported valid and then refused at serve time.
    /// </summary>
    public string? Unavailable { get; init; }

    /// <summary>Usable in this build: has an implementation and is not declared unavailable.</summary>
    public bool IsAvailable => Unavailable is null && Factory is not null;
}
