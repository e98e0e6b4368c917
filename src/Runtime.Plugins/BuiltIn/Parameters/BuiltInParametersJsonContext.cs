using System.Text.Json.Serialization;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>Source-generated binding of built-in plugin parameters (native-AOT safe, no reflection).</summary>
[JsonSerializable(typeof(PickerParameters))]
[JsonSerializable(typeof(PrefixCacheScorerParameters))]
[JsonSerializable(typeof(UtilizationDetectorParameters))]
[JsonSerializable(typeof(UtilizationFilterParameters))]
[JsonSerializable(typeof(ConcurrencyDetectorParameters))]
[JsonSerializable(typeof(StaticUsageLimitPolicyParameters))]
[JsonSerializable(typeof(PdProfileHandlerParameters))]
[JsonSerializable(typeof(MetricsDataSourceParameters))]
[JsonSerializable(typeof(ModelServerMetricsExtractorParameters))]
[JsonSerializable(typeof(BodyFieldToHeaderParameters))]
[JsonSerializable(typeof(TokenLoadScorerParameters))]
[JsonSerializable(typeof(K8sNotificationSourceParameters))]
[JsonSerializable(typeof(RequestAttributeReporterParameters))]
[JsonSerializable(typeof(ActiveRequestScorerParameters))]
[JsonSerializable(typeof(LoadAwareScorerParameters))]
[JsonSerializable(typeof(NoHitLruScorerParameters))]
[JsonSerializable(typeof(SessionAffinityParameters))]
[JsonSerializable(typeof(ContextLengthAwareParameters))]
[JsonSerializable(typeof(HeaderProfileHandlerParameters))]
[JsonSerializable(typeof(EndpointAttributeFilterParameters))]
[JsonSerializable(typeof(EndpointAttributeScorerParameters))]
[JsonSerializable(typeof(DcgmDataSourceParameters))]
internal sealed partial class BuiltInParametersJsonContext : JsonSerializerContext;
