using System.Text.Json;
using System.Text.Json.Serialization;
using Runtime.Plugins.Parameters;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>llm-d v0.10's <c>label-selector-filter</c> (and deprecated <c>by-label-selector</c>): a Kubernetes label selector.</summary>
internal sealed record LabelSelectorParameters
{
    [JsonPropertyName("matchLabels")]
    public Dictionary<string, string>? MatchLabels { get; init; }

    [JsonPropertyName("matchExpressions")]
    public IReadOnlyList<LabelSelectorRequirement>? MatchExpressions { get; init; }

    internal static void Rules(LabelSelectorParameters p, string path, ValidationErrors errors)
    {
        var expressions = p.MatchExpressions ?? [];
        for (var i = 0; i < expressions.Count; i++)
        {
            var at = FieldPath.Index(FieldPath.Field(path, "matchExpressions"), i);
            var e = expressions[i];
            if (e is null)
            {
                errors.Report(at, "must be a requirement object (key, operator, values)");
                continue;
            }

            if (string.IsNullOrEmpty(e.Key))
            {
                errors.Report(FieldPath.Field(at, "key"), "is required");
            }

            var values = e.Values ?? [];
            switch (e.Operator)
            {
                case "In" or "NotIn" when values.Count == 0:
                    errors.Report(FieldPath.Field(at, "values"), "for 'in', 'notin' operators, values set can't be empty");
                    break;
                case "Exists" or "DoesNotExist" when values.Count > 0:
                    errors.Report(FieldPath.Field(at, "values"), "values set must be empty for exists and does not exist");
                    break;
                case "In" or "NotIn" or "Exists" or "DoesNotExist":
                    break;
                default:
                    errors.Report(FieldPath.Field(at, "operator"), $"\"{e.Operator}\" is not a valid label selector operator");
                    break;
            }
        }
    }
}

internal sealed record LabelSelectorRequirement
{
    [JsonPropertyName("key")]
    public string? Key { get; init; }

    [JsonPropertyName("operator")]
    public string? Operator { get; init; }

    [JsonPropertyName("values")]
    public IReadOnlyList<string>? Values { get; init; }
}

/// <summary>llm-d v0.10's deprecated <c>by-label</c> filter: one label, its accepted values, and whether an endpoint without it passes.</summary>
internal sealed record ByLabelParameters
{
    [JsonPropertyName("label")]
    public string? Label { get; init; }

    [JsonPropertyName("validValues")]
    public IReadOnlyList<string>? ValidValues { get; init; }

    [JsonPropertyName("allowsNoLabel")]
    public bool AllowsNoLabel { get; init; }

    internal static void Rules(ByLabelParameters p, string path, ValidationErrors errors)
    {
        if (string.IsNullOrEmpty(p.Label))
        {
            errors.Report(FieldPath.Field(path, "label"), "invalid configuration for 'by-label' filter: 'label' must be specified");
        }
        else if (p.ValidValues is not { Count: > 0 } && !p.AllowsNoLabel)
        {
            errors.Report(FieldPath.Field(path, "validValues"), "invalid configuration for 'by-label' filter: either 'validValues' must be non-empty or 'allowsNoLabel' must be true");
        }
    }
}

/// <summary>llm-d v0.10's <c>prefix-based-pd-decider</c>.</summary>
internal sealed record PrefixBasedPdDeciderParameters
{
    /// <summary>Uncached prompt tokens from which a request gets its own prefill; 0 switches disaggregation off.</summary>
    [JsonPropertyName("nonCachedTokens")]
    public int NonCachedTokens { get; init; }

    /// <summary>Minimum prompt length in tokens before the prefix check applies; 0 switches this gate off.</summary>
    [JsonPropertyName("promptTokens")]
    public int PromptTokens { get; init; }

    internal static void Rules(PrefixBasedPdDeciderParameters p, string path, ValidationErrors errors)
    {
        if (p.NonCachedTokens < 0)
        {
            errors.Report(FieldPath.Field(path, "nonCachedTokens"), "nonCachedTokens parameter of prefix disaggregation decider cannot be negative");
        }

        if (p.PromptTokens < 0)
        {
            errors.Report(FieldPath.Field(path, "promptTokens"), "promptTokens parameter of prefix disaggregation decider cannot be negative");
        }
    }
}

/// <summary>llm-d v0.10's <c>data-parallel-profile-handler</c>: the port every pick is sent to (rank 0's sidecar), default 8000.</summary>
internal sealed record DataParallelProfileHandlerParameters(int PrimaryPort = 8000)
{
    [JsonPropertyName("primaryPort")]
    public int PrimaryPort { get; init; } = PrimaryPort;

    internal static void Rules(DataParallelProfileHandlerParameters p, string path, ValidationErrors errors)
    {
        if (p.PrimaryPort != 0 && p.PrimaryPort is < 1 or > 65535)
        {
            errors.Report(FieldPath.Field(path, "primaryPort"), $"invalid primaryPort: must be between 1 and 65535, got {p.PrimaryPort}");
        }
    }
}

/// <summary>llm-d v0.10's deprecated <c>disagg-headers-handler</c> / <c>prefill-header-handler</c>.</summary>
internal sealed record DisaggHeadersHandlerParameters(string PrefillProfile = "prefill", string EncodeProfile = "encode")
{
    [JsonPropertyName("prefillProfile")]
    public string PrefillProfile { get; init; } = PrefillProfile;

    [JsonPropertyName("encodeProfile")]
    public string EncodeProfile { get; init; } = EncodeProfile;
}

/// <summary>The nested (current) schema of <c>disagg-profile-handler</c>.</summary>
internal sealed record DisaggProfileHandlerParameters
{
    [JsonPropertyName("stageOrder")]
    public string? StageOrder { get; init; }

    [JsonPropertyName("profiles")]
    public DisaggProfilesParameters? Profiles { get; init; }

    [JsonPropertyName("deciders")]
    public DisaggDecidersParameters? Deciders { get; init; }
}

internal sealed record DisaggProfilesParameters
{
    [JsonPropertyName("decode")]
    public string? Decode { get; init; }

    [JsonPropertyName("prefill")]
    public string? Prefill { get; init; }

    [JsonPropertyName("encode")]
    public string? Encode { get; init; }
}

internal sealed record DisaggDecidersParameters
{
    [JsonPropertyName("prefill")]
    public string? Prefill { get; init; }

    [JsonPropertyName("encode")]
    public string? Encode { get; init; }
}

/// <summary>The deprecated flat schema of <c>disagg-profile-handler</c>.</summary>
internal sealed record LegacyDisaggProfileHandlerParameters
{
    [JsonPropertyName("stageOrder")]
    public string? StageOrder { get; init; }

    [JsonPropertyName("decodeProfile")]
    public string? DecodeProfile { get; init; }

    [JsonPropertyName("prefillProfile")]
    public string? PrefillProfile { get; init; }

    [JsonPropertyName("encodeProfile")]
    public string? EncodeProfile { get; init; }

    [JsonPropertyName("prefillDeciderPluginName")]
    public string? PrefillDeciderPluginName { get; init; }

    [JsonPropertyName("encodeDeciderPluginName")]
    public string? EncodeDeciderPluginName { get; init; }

    /// <summary>pd-profile-handler's name for the prefill decider; lower priority than <see cref="PrefillDeciderPluginName"/>.</summary>
    [JsonPropertyName("deciderPluginName")]
    public string? DeciderPluginName { get; init; }
}

/// <summary>Which of the two stages runs first.</summary>
internal enum DisaggStageOrder
{
    DecodeFirst,
    PrefillFirst,
}

/// <summary>
/// What a disaggregation profile handler runs with, whichever schema (or handler type) it was written in.
/// <paramref name="PrimaryPort"/> is pd-profile-handler's data-parallel port (0: keep the picked port).
/// </summary>
internal sealed record DisaggSettings(
    DisaggStageOrder StageOrder,
    string DecodeProfile,
    string PrefillProfile,
    string EncodeProfile,
    string PrefillDecider,
    string EncodeDecider,
    int PrimaryPort,
    bool Legacy,
    string? PrefixMatchInfoProducerName = null);

/// <summary>Source-generated binding of the disaggregation plugins' parameters (native-AOT safe).</summary>
[JsonSerializable(typeof(LabelSelectorParameters))]
[JsonSerializable(typeof(ByLabelParameters))]
[JsonSerializable(typeof(PrefixBasedPdDeciderParameters))]
[JsonSerializable(typeof(DataParallelProfileHandlerParameters))]
[JsonSerializable(typeof(DisaggHeadersHandlerParameters))]
[JsonSerializable(typeof(DisaggProfileHandlerParameters))]
[JsonSerializable(typeof(LegacyDisaggProfileHandlerParameters))]
internal sealed partial class DisaggregationParametersJsonContext : JsonSerializerContext;

/// <summary>
/// A plugin name another plugin's parameters refer to (llm-d's <c>pluginRef</c> fields). The configuration
/// validator checks that a plugin of that name is declared and is <see cref="Kind"/>, reporting
/// <see cref="Missing"/> or <see cref="WrongKind"/> at <see cref="Path"/>.
/// </summary>
internal sealed record PluginReference(string Path, string Name, PluginKinds Kind, string Missing, string WrongKind);

/// <summary>A parameter binder whose parameters name other plugins.</summary>
internal interface IPluginReferenceSource
{
    IEnumerable<PluginReference> References(JsonElement parameters, string path);
}

/// <summary>The binders of the disaggregation types.</summary>
internal static class DisaggregationBinders
{
    private static readonly DisaggregationParametersJsonContext s_context = DisaggregationParametersJsonContext.Default;

    public static PluginParameterBinder<LabelSelectorParameters> LabelSelector { get; } = new(s_context.LabelSelectorParameters, LabelSelectorParameters.Rules);

    public static PluginParameterBinder<ByLabelParameters> ByLabel { get; } = new(s_context.ByLabelParameters, ByLabelParameters.Rules);

    public static PluginParameterBinder<PrefixBasedPdDeciderParameters> PrefixBasedPdDecider { get; } = new(s_context.PrefixBasedPdDeciderParameters, PrefixBasedPdDeciderParameters.Rules);

    public static PluginParameterBinder<DataParallelProfileHandlerParameters> DataParallelProfileHandler { get; } = new(s_context.DataParallelProfileHandlerParameters, DataParallelProfileHandlerParameters.Rules);

    public static PluginParameterBinder<DisaggHeadersHandlerParameters> DisaggHeadersHandler { get; } = new(s_context.DisaggHeadersHandlerParameters);

    public static DisaggProfileHandlerBinder DisaggProfileHandler { get; } = new(pd: false);

    public static DisaggProfileHandlerBinder PdProfileHandler { get; } = new(pd: true);
}
