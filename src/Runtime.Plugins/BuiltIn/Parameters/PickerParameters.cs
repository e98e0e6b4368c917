using System.Text.Json.Serialization;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>Parameters of <c>max-score-picker</c>, <c>random-picker</c> and <c>weighted-random-picker</c>.</summary>
/// <remarks>
/// Defaults live in constructor parameters: the JSON source generator resets init-only properties
/// absent from the input to default(T), losing initializers (dotnet/runtime#84484), but honours
/// constructor parameter defaults.
/// </remarks>
internal sealed record PickerParameters(int MaxNumOfEndpoints = 1)
{
    /// <summary>How many endpoints to return: the first is the pick, the rest are fallbacks in the destination header.</summary>
    [JsonPropertyName("maxNumOfEndpoints")]
    public int MaxNumOfEndpoints { get; init; } = MaxNumOfEndpoints;

    internal static void Rules(PickerParameters p, string path, ValidationErrors errors)
    {
        if (p.MaxNumOfEndpoints < 1)
        {
            errors.Report(FieldPath.Field(path, "maxNumOfEndpoints"), $"must be at least 1, got {p.MaxNumOfEndpoints}");
        }
    }
}
