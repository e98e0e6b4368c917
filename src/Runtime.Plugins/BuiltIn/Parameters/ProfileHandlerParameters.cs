using System.Text.Json.Serialization;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>
/// Parameters of <c>pd-profile-handler</c>, llm-d v0.10's deprecated prefill/decode handler: exactly the
/// fields its <c>PdProfileHandlerParameters</c> decodes (strictly), with its defaults. Here the type is an
/// alias of <c>disagg-profile-handler</c> configured from these fields.
/// </summary>
/// <remarks>
/// Defaults live in constructor parameters: the JSON source generator resets init-only properties
/// absent from the input to default(T), losing initializers (dotnet/runtime#84484), but honours
/// constructor parameter defaults.
/// </remarks>
internal sealed record PdProfileHandlerParameters(string DecodeProfile = "decode", string PrefillProfile = "prefill", string DeciderPluginName = "prefix-based-pd-decider")
{
    [JsonPropertyName("decodeProfile")]
    public string DecodeProfile { get; init; } = DecodeProfile;

    [JsonPropertyName("prefillProfile")]
    public string PrefillProfile { get; init; } = PrefillProfile;

    /// <summary>Deprecated in llm-d and never used there either.</summary>
    [JsonPropertyName("prefixPluginType")]
    public string? PrefixPluginType { get; init; }

    /// <summary>Deprecated in llm-d and never used there either.</summary>
    [JsonPropertyName("prefixPluginName")]
    public string? PrefixPluginName { get; init; }

    /// <summary>Deprecated data-parallel port: when not 0, every pick is sent to this port and its own host:port goes in x-data-parallel-host-port.</summary>
    [JsonPropertyName("primaryPort")]
    public int PrimaryPort { get; init; }

    /// <summary>The decider plugin (a pluginRef); llm-d's default is the plugin named prefix-based-pd-decider.</summary>
    [JsonPropertyName("deciderPluginName")]
    public string DeciderPluginName { get; init; } = DeciderPluginName;

    /// <summary>Which prefix producer's matches the decider reads.</summary>
    [JsonPropertyName("prefixMatchInfoProducerName")]
    public string? PrefixMatchInfoProducerName { get; init; }

    internal static void Rules(PdProfileHandlerParameters p, string path, ValidationErrors errors)
    {
        if (p.PrimaryPort != 0 && p.PrimaryPort is < 1 or > 65535)
        {
            errors.Report(FieldPath.Field(path, "primaryPort"), $"invalid primaryPort: must be between 1 and 65535, got {p.PrimaryPort}");
        }

        if (string.IsNullOrEmpty(p.DeciderPluginName))
        {
            errors.Report(FieldPath.Field(path, "deciderPluginName"), "decider plugin name is not defined");
        }
    }
}
