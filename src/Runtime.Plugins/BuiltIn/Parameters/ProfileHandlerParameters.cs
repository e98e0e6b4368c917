using System.Text.Json.Serialization;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>
/// Parameters of <c>pd-profile-handler</c> (llm-d's prefill/decode disaggregation handler). The
/// fields its releases have used are all accepted so their configs load unchanged.
/// </summary>
/// <remarks>
/// Defaults live in constructor parameters: the JSON source generator resets init-only properties
/// absent from the input to default(T), losing initializers (dotnet/runtime#84484), but honours
/// constructor parameter defaults.
/// </remarks>
internal sealed record PdProfileHandlerParameters(string DecodeProfile = "decode", string PrefillProfile = "prefill")
{
    [JsonPropertyName("decodeProfile")]
    public string DecodeProfile { get; init; } = DecodeProfile;

    [JsonPropertyName("prefillProfile")]
    public string PrefillProfile { get; init; } = PrefillProfile;

    /// <summary>Uncached prompt tokens above which a request is disaggregated.</summary>
    [JsonPropertyName("threshold")]
    public int Threshold { get; init; }

    [JsonPropertyName("prefixPluginName")]
    public string? PrefixPluginName { get; init; }

    [JsonPropertyName("prefixPluginType")]
    public string? PrefixPluginType { get; init; }

    [JsonPropertyName("hashBlockSize")]
    public int? HashBlockSize { get; init; }

    [JsonPropertyName("primaryPort")]
    public int PrimaryPort { get; init; }

    [JsonPropertyName("deciderPluginName")]
    public string? DeciderPluginName { get; init; }

    internal static void Rules(PdProfileHandlerParameters p, string path, ValidationErrors errors)
    {
        if (string.IsNullOrEmpty(p.DecodeProfile))
        {
            errors.Report(FieldPath.Field(path, "decodeProfile"), "must name a scheduling profile");
        }

        if (string.IsNullOrEmpty(p.PrefillProfile))
        {
            errors.Report(FieldPath.Field(path, "prefillProfile"), "must name a scheduling profile");
        }

        if (p.Threshold < 0)
        {
            errors.Report(FieldPath.Field(path, "threshold"), $"must not be negative, got {p.Threshold}");
        }

        if (p.HashBlockSize is <= 0)
        {
            errors.Report(FieldPath.Field(path, "hashBlockSize"), $"must be positive, got {p.HashBlockSize}");
        }

        if (p.PrimaryPort is < 0 or > 65535)
        {
            errors.Report(FieldPath.Field(path, "primaryPort"), $"must be a port number (0 = the request's port), got {p.PrimaryPort}");
        }
    }
}
