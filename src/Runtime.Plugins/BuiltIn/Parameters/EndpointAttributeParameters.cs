using System.Globalization;
using System.Text.Json.Serialization;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary><c>endpoint-attribute-filter</c> (llm-d v0.10, Alpha): keeps endpoints whose numeric attribute passes a threshold.</summary>
internal sealed record EndpointAttributeFilterParameters
{
    public const string Pass = "Pass";
    public const string Fail = "Fail";
    public const string Threshold = "threshold";

    public static readonly string[] Operators = ["LessThan", "LessThanOrEqual", "GreaterThan", "GreaterThanOrEqual", "Equal", "NotEqual"];

    /// <summary>The endpoint attribute to read, e.g. <c>GPUUtilization/dcgm-extractor</c>.</summary>
    [JsonPropertyName("attribute")]
    public string? Attribute { get; init; }

    /// <summary><c>Pass</c> (default) keeps an endpoint without the attribute; <c>Fail</c> drops it.</summary>
    [JsonPropertyName("onMissing")]
    public string? OnMissing { get; init; }

    [JsonPropertyName("fallbackOnEmpty")]
    public bool FallbackOnEmpty { get; init; }

    [JsonPropertyName("algorithm")]
    public AttributeFilterAlgorithm? Algorithm { get; init; }

    internal static void Rules(EndpointAttributeFilterParameters p, string path, ValidationErrors errors)
    {
        if (string.IsNullOrEmpty(p.Attribute))
        {
            errors.Report(FieldPath.Field(path, "attribute"), "endpoint attribute filter requires a non-empty attribute");
        }

        if (p.OnMissing is not (null or "" or Pass or Fail))
        {
            errors.Report(FieldPath.Field(path, "onMissing"), $"endpoint attribute filter onMissing must be \"{Pass}\" or \"{Fail}\", got \"{p.OnMissing}\"");
        }

        var algorithm = FieldPath.Field(path, "algorithm");
        if (p.Algorithm?.Type != Threshold)
        {
            errors.Report(FieldPath.Field(algorithm, "type"), $"endpoint attribute filter algorithm.type must be \"{Threshold}\", got \"{p.Algorithm?.Type}\"");
            return;
        }

        if (p.Algorithm.Threshold is not { } threshold)
        {
            errors.Report(FieldPath.Field(algorithm, "threshold"), $"endpoint attribute filter requires algorithm.threshold when algorithm.type is \"{Threshold}\"");
            return;
        }

        if (!Operators.Contains(threshold.Operator, StringComparer.Ordinal))
        {
            errors.Report(
                FieldPath.Field(FieldPath.Field(algorithm, "threshold"), "operator"),
                $"endpoint attribute filter threshold.operator must be one of {string.Join(", ", Operators.Select(o => $"\"{o}\""))}, got \"{threshold.Operator}\"{NameSuggestions.Hint(threshold.Operator ?? string.Empty, Operators)}");
        }
    }
}

internal sealed record AttributeFilterAlgorithm
{
    [JsonPropertyName("type")]
    public string? Type { get; init; }

    [JsonPropertyName("threshold")]
    public AttributeThreshold? Threshold { get; init; }
}

internal sealed record AttributeThreshold
{
    [JsonPropertyName("operator")]
    public string? Operator { get; init; }

    [JsonPropertyName("value")]
    public double Value { get; init; }
}

/// <summary><c>endpoint-attribute-scorer</c> (llm-d v0.10, Alpha): scores endpoints linearly by a numeric attribute.</summary>
internal sealed record EndpointAttributeScorerParameters
{
    public const string LinearLowerIsBetter = "linear_lower_is_better";
    public const string LinearHigherIsBetter = "linear_higher_is_better";

    [JsonPropertyName("attributeKey")]
    public string? AttributeKey { get; init; }

    [JsonPropertyName("algorithm")]
    public AttributeScorerAlgorithm? Algorithm { get; init; }

    internal static void Rules(EndpointAttributeScorerParameters p, string path, ValidationErrors errors)
    {
        if (string.IsNullOrEmpty(p.AttributeKey))
        {
            errors.Report(FieldPath.Field(path, "attributeKey"), "endpoint attribute scorer requires a non-empty attributeKey");
        }

        var algorithm = FieldPath.Field(path, "algorithm");
        if (p.Algorithm?.Type is not (LinearLowerIsBetter or LinearHigherIsBetter))
        {
            errors.Report(FieldPath.Field(algorithm, "type"), $"endpoint attribute scorer algorithm.type must be \"{LinearLowerIsBetter}\" or \"{LinearHigherIsBetter}\", got \"{p.Algorithm?.Type}\"");
            return;
        }

        var normalization = p.Algorithm.Normalization;
        var at = FieldPath.Field(algorithm, "normalization");
        if (normalization?.FixedRange is not null && normalization.AdaptiveRange is not null)
        {
            errors.Report(at, "endpoint attribute scorer allows at most one normalization strategy, got both fixedRange and adaptiveRange");
        }
        else if (normalization?.FixedRange is { } fixedRange && fixedRange.Min >= fixedRange.Max)
        {
            errors.Report(
                FieldPath.Field(at, "fixedRange"),
                $"endpoint attribute scorer normalization.fixedRange requires min < max, got min {fixedRange.Min.ToString(CultureInfo.InvariantCulture)}, max {fixedRange.Max.ToString(CultureInfo.InvariantCulture)}");
        }
    }
}

internal sealed record AttributeScorerAlgorithm
{
    [JsonPropertyName("type")]
    public string? Type { get; init; }

    [JsonPropertyName("normalization")]
    public AttributeNormalization? Normalization { get; init; }
}

/// <summary>At most one: a fixed range, or (the default) the candidates' own min..max.</summary>
internal sealed record AttributeNormalization
{
    [JsonPropertyName("fixedRange")]
    public AttributeFixedRange? FixedRange { get; init; }

    [JsonPropertyName("adaptiveRange")]
    public AttributeAdaptiveRange? AdaptiveRange { get; init; }
}

internal sealed record AttributeFixedRange
{
    [JsonPropertyName("min")]
    public double Min { get; init; }

    [JsonPropertyName("max")]
    public double Max { get; init; }
}

/// <summary>No fields: the range is the candidates' own minimum and maximum.</summary>
internal sealed record AttributeAdaptiveRange;

/// <summary><c>dcgm-data-source</c> (llm-d v0.10, Alpha): where the NVIDIA DCGM exporter's Prometheus page is.</summary>
internal sealed record DcgmDataSourceParameters(
    string Scheme = DcgmDataSourceParameters.DefaultScheme,
    string Path = DcgmDataSourceParameters.DefaultPath,
    int Port = DcgmDataSourceParameters.DefaultPort,
    bool InsecureSkipVerify = true)
{
    public const string DefaultScheme = "http";
    public const string DefaultPath = "/metrics";
    public const int DefaultPort = 9400;

    [JsonPropertyName("scheme")]
    public string Scheme { get; init; } = Scheme;

    [JsonPropertyName("path")]
    public string Path { get; init; } = Path;

    [JsonPropertyName("port")]
    public int Port { get; init; } = Port;

    [JsonPropertyName("insecureSkipVerify")]
    public bool InsecureSkipVerify { get; init; } = InsecureSkipVerify;

    /// <summary>llm-d: scrape the node's address (a DCGM DaemonSet) instead of the pod's (a sidecar). Refused here: endpoints carry no node address.</summary>
    [JsonPropertyName("useNodeAddress")]
    public bool UseNodeAddress { get; init; }

    /// <summary>Scrape period, a Go duration such as <c>1s</c> (default: the metrics refresh interval).</summary>
    [JsonPropertyName("interval")]
    public string? Interval { get; init; }

    internal static void Rules(DcgmDataSourceParameters p, string path, ValidationErrors errors)
    {
        if (p.Scheme is not ("http" or "https"))
        {
            errors.Report(FieldPath.Field(path, "scheme"), $"unsupported scheme: {p.Scheme}");
        }

        if (p.Port is < 1 or > 65535)
        {
            errors.Report(FieldPath.Field(path, "port"), $"must be a TCP port (1-65535), got {p.Port}");
        }

        if (string.IsNullOrEmpty(p.Path) || p.Path[0] != '/')
        {
            errors.Report(FieldPath.Field(path, "path"), $"must be an absolute URL path starting with '/', got \"{p.Path}\"");
        }

        if (p.UseNodeAddress)
        {
            errors.Report(FieldPath.Field(path, "useNodeAddress"), "not available in this build: endpoints carry no node address; run the DCGM exporter as a sidecar of the model server (useNodeAddress: false) and set port to its port");
        }

        if (!string.IsNullOrEmpty(p.Interval) && (!Values.GoDuration.TryParse(p.Interval, out var interval) || interval <= TimeSpan.Zero))
        {
            errors.Report(FieldPath.Field(path, "interval"), $"must be a positive duration such as \"1s\" or \"500ms\", got \"{p.Interval}\"");
        }
    }
}
