using System.Text.Json.Serialization;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>Parameters of <c>static-usage-limit-policy</c>: a fixed admission ceiling for every priority.</summary>
public sealed record StaticUsageLimitPolicyParameters
{
    public const double DefaultThreshold = 1.0;

    /// <summary>Fraction of pool capacity a band may dispatch into; 0.8 keeps 20% headroom.</summary>
    [JsonPropertyName("threshold")]
    public double Threshold { get; init; } = DefaultThreshold;

    internal static void Rules(StaticUsageLimitPolicyParameters p, string path, ValidationErrors errors)
    {
        if (!(p.Threshold > 0 && p.Threshold <= 1))
        {
            errors.Report(FieldPath.Field(path, "threshold"), $"must be in (0, 1], got {p.Threshold}");
        }
    }
}
