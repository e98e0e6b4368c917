using System.Text.Json.Serialization;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>Parameters of <c>max-score-picker</c>, <c>random-picker</c> and <c>weighted-random-picker</c>.</summary>
public sealed record PickerParameters
{
    /// <summary>How many endpoints to return: the first is the pick, the rest are fallbacks in the destination header.</summary>
    [JsonPropertyName("maxNumOfEndpoints")]
    public int MaxNumOfEndpoints { get; init; } = 1;

    internal static void Rules(PickerParameters p, string path, ValidationErrors errors)
    {
        if (p.MaxNumOfEndpoints < 1)
        {
            errors.Report(FieldPath.Field(path, "maxNumOfEndpoints"), $"must be at least 1, got {p.MaxNumOfEndpoints}");
        }
    }
}
