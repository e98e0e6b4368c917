using System.Text.Json.Serialization;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>Parameters of <c>static-usage-limit-policy</c>: a fixed admission ceiling for every priority.</summary>
/// <remarks>
/// Defaults live in constructor parameters: the JSON source generator resets init-only properties
/// absent from the input to default(T), losing initializers (dotnet/runtime#84484), but honours
/// constructor parameter defaults.
/// </remarks>
internal sealed record StaticUsageLimitPolicyParameters(double Threshold = StaticUsageLimitPolicyParameters.DefaultThreshold)
{
    public const double DefaultThreshold = 1.0;

    /// <summary>Fraction of pool capacity a band may dispatch into; 0.8 keeps 20% headroom.</summary>
    [JsonPropertyName("threshold")]
    public double Threshold { get; init; } = Threshold;

    internal static void Rules(StaticUsageLimitPolicyParameters p, string path, ValidationErrors errors)
    {
        if (!(p.Threshold > 0 && p.Threshold <= 1))
        {
            errors.Report(FieldPath.Field(path, "threshold"), $"must be in (0, 1], got {p.Threshold}");
        }
    }
}
