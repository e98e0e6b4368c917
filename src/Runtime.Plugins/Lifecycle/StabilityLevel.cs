namespace Runtime.Plugins.Lifecycle;

/// <summary>
/// How mature a plugin type or feature gate is. Ordered by maturity for <c>minimumStability</c>:
/// Deprecated &lt; Alpha &lt; Beta &lt; Stable.
/// </summary>
public enum StabilityLevel
{
    /// <summary>Still loads, with a warning and a metric; names its replacement.</summary>
    Deprecated = 0,

    /// <summary>
    /// Experimental: loads only with <c>--allow-experimental-plugins</c> (llm-d v0.10's rule), and
    /// behind its feature gate too when it names one. A type is Alpha here exactly when llm-d declares it so.
    /// </summary>
    Alpha = 1,

    /// <summary>Complete and tested: on by default; its gate (if any) can switch it off.</summary>
    Beta = 2,

    /// <summary>Supported and always on.</summary>
    Stable = 3,
}

public static class StabilityLevels
{
    public static IReadOnlyList<string> Names { get; } = ["Deprecated", "Alpha", "Beta", "Stable"];

    /// <summary>Exact, case-sensitive names, as Kubernetes-style config spells enum values.</summary>
    public static bool TryParse(string? text, out StabilityLevel level)
    {
        switch (text)
        {
            case "Deprecated": level = StabilityLevel.Deprecated; return true;
            case "Alpha": level = StabilityLevel.Alpha; return true;
            case "Beta": level = StabilityLevel.Beta; return true;
            case "Stable": level = StabilityLevel.Stable; return true;
            default: level = default; return false;
        }
    }
}
