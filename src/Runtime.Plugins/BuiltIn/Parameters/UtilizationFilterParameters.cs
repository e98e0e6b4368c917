using System.Globalization;
using System.Text.Json.Serialization;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>
/// Parameters of llm-d v0.10's <c>utilization-filter</c>: an endpoint is kept when every condition's
/// metric is at most its <c>maxValue</c>; <c>fallbackOnEmpty</c> keeps all candidates when none passes.
/// </summary>
internal sealed record UtilizationFilterParameters
{
    public const string ActiveRequests = "active-requests";
    public const string RunningRequests = "running-requests";
    public const string WaitingQueue = "waiting-queue";
    public const string KvCacheUtilization = "kv-cache-utilization";

    [JsonPropertyName("conditions")]
    public IReadOnlyList<UtilizationCondition>? Conditions { get; init; }

    [JsonPropertyName("fallbackOnEmpty")]
    public bool FallbackOnEmpty { get; init; }

    /// <summary>llm-d: which in-flight load producer feeds <c>active-requests</c>. Here the request path always keeps those counts.</summary>
    [JsonPropertyName("inFlightLoadProducerName")]
    public string? InFlightLoadProducerName { get; init; }

    internal static void Rules(UtilizationFilterParameters p, string path, ValidationErrors errors)
    {
        if (p.Conditions is not { Count: > 0 } conditions)
        {
            errors.Report(FieldPath.Field(path, "conditions"), "utilization filter requires at least one condition");
            return;
        }

        for (var i = 0; i < conditions.Count; i++)
        {
            var at = FieldPath.Index(FieldPath.Field(path, "conditions"), i);
            var condition = conditions[i];
            if (condition is null)
            {
                errors.Report(at, "must be a condition object (metric, maxValue)");
                continue;
            }

            if (condition.Metric is not (ActiveRequests or RunningRequests or WaitingQueue or KvCacheUtilization))
            {
                errors.Report(FieldPath.Field(at, "metric"), $"utilization filter condition metric must be one of \"{ActiveRequests}\", \"{RunningRequests}\", \"{WaitingQueue}\", \"{KvCacheUtilization}\", got \"{condition.Metric}\"");
                continue;
            }

            var maxPath = FieldPath.Field(at, "maxValue");
            if (condition.MaxValue is not { } max)
            {
                errors.Report(maxPath, $"utilization filter condition for \"{condition.Metric}\" requires maxValue");
            }
            else if (max < 0)
            {
                errors.Report(maxPath, $"utilization filter condition for \"{condition.Metric}\" requires a non-negative maxValue, got {max.ToString(CultureInfo.InvariantCulture)}");
            }
            else if (condition.Metric == KvCacheUtilization && max > 1)
            {
                errors.Report(maxPath, $"utilization filter maxValue for \"{KvCacheUtilization}\" is a fraction and must be at most 1, got {max.ToString(CultureInfo.InvariantCulture)}");
            }
        }
    }
}

/// <summary>One cap of <see cref="UtilizationFilterParameters"/>.</summary>
internal sealed record UtilizationCondition
{
    [JsonPropertyName("metric")]
    public string? Metric { get; init; }

    [JsonPropertyName("maxValue")]
    public double? MaxValue { get; init; }
}
