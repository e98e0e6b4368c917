namespace Runtime.Plugins.Lifecycle;

/// <summary>
/// A named switch for a feature or a group of plugin types. Its default follows its maturity:
/// Alpha off, Beta on (and can be switched off), Stable always on.
/// </summary>
public sealed record FeatureGate(string Name, StabilityLevel Stability, string Description)
{
    public bool EnabledByDefault => Stability >= StabilityLevel.Beta;

    /// <summary>Stable gates cannot be switched off: the behaviour they guarded is simply how the product works.</summary>
    public bool IsLocked => Stability == StabilityLevel.Stable;
}
