using System.Text.Json.Serialization;
using Runtime.Plugins.Validation;
using Runtime.Plugins.Values;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>Parameters of <c>token-load-scorer</c> (GIE v1.5.0 and llm-d v0.10, which adds <c>inFlightLoadProducerName</c>).</summary>
/// <remarks>Defaults live in constructor parameters (dotnet/runtime#84484: the source generator drops initialisers of absent init-only properties).</remarks>
internal sealed record TokenLoadScorerParameters(long QueueThresholdTokens = TokenLoadScorerParameters.DefaultQueueThresholdTokens)
{
    public const long DefaultQueueThresholdTokens = 4_194_304;

    /// <summary>In-flight tokens at which an endpoint scores 0; 0 or less means the default, as in GIE.</summary>
    [JsonPropertyName("queueThresholdTokens")]
    public long QueueThresholdTokens { get; init; } = QueueThresholdTokens;

    /// <summary>llm-d v0.10: which in-flight load producer to read. Here the request path always keeps those counts, so any name reads them.</summary>
    [JsonPropertyName("inFlightLoadProducerName")]
    public string? InFlightLoadProducerName { get; init; }

    [JsonIgnore]
    public long EffectiveQueueThresholdTokens => QueueThresholdTokens > 0 ? QueueThresholdTokens : DefaultQueueThresholdTokens;
}

/// <summary>Parameters of <c>k8s-notification-source</c>: the Kubernetes kind to watch.</summary>
internal sealed record K8sNotificationSourceParameters
{
    [JsonPropertyName("group")]
    public string? Group { get; init; }

    [JsonPropertyName("version")]
    public string? Version { get; init; }

    [JsonPropertyName("kind")]
    public string? Kind { get; init; }

    internal static void Rules(K8sNotificationSourceParameters p, string path, ValidationErrors errors)
    {
        if (string.IsNullOrEmpty(p.Version))
        {
            errors.Report(FieldPath.Field(path, "version"), "is required");
        }

        if (string.IsNullOrEmpty(p.Kind))
        {
            errors.Report(FieldPath.Field(path, "kind"), "is required");
        }
    }
}

/// <summary>
/// Parameters of <c>request-attribute-reporter</c> (GIE v1.5.0): exactly one attribute, whose CEL
/// <c>expression</c> over <c>usage</c> yields the integer reported at <c>key.namespace</c>/<c>key.name</c>
/// in the response's dynamic metadata when the optional <c>condition</c> holds.
/// </summary>
internal sealed record RequestAttributeReporterParameters(IReadOnlyList<ReportedAttribute>? Attributes = null)
{
    public const string DefaultNamespace = "envoy.lb";

    [JsonPropertyName("attributes")]
    public IReadOnlyList<ReportedAttribute> Attributes { get; init; } = Attributes ?? [];

    internal static void Rules(RequestAttributeReporterParameters p, string path, ValidationErrors errors)
    {
        var attributes = FieldPath.Field(path, "attributes");
        if (p.Attributes.Count != 1)
        {
            errors.Report(attributes, $"must contain exactly one entry, got {p.Attributes.Count}");
            return;
        }

        var attribute = p.Attributes[0];
        var at = FieldPath.Index(attributes, 0);
        if (string.IsNullOrEmpty(attribute.Key?.Name))
        {
            errors.Report(FieldPath.Field(FieldPath.Field(at, "key"), "name"), "is required");
        }

        if (string.IsNullOrWhiteSpace(attribute.Expression))
        {
            errors.Report(FieldPath.Field(at, "expression"), "is required");
        }
        else if (!UsageExpression.TryParse(attribute.Expression, out _, out var error))
        {
            errors.Report(FieldPath.Field(at, "expression"), $"cannot compile: {error}");
        }

        if (!string.IsNullOrWhiteSpace(attribute.Condition) && !UsageExpression.TryParse(attribute.Condition, out _, out var conditionError))
        {
            errors.Report(FieldPath.Field(at, "condition"), $"cannot compile: {conditionError}");
        }
    }
}

internal sealed record ReportedAttribute
{
    [JsonPropertyName("key")]
    public ReportedAttributeKey? Key { get; init; }

    [JsonPropertyName("expression")]
    public string? Expression { get; init; }

    [JsonPropertyName("condition")]
    public string? Condition { get; init; }
}

internal sealed record ReportedAttributeKey
{
    /// <summary>Dynamic metadata namespace; <c>envoy.lb</c> when empty.</summary>
    [JsonPropertyName("namespace")]
    public string? Namespace { get; init; }

    [JsonPropertyName("name")]
    public string? Name { get; init; }
}
