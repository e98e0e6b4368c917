using Runtime.Plugins.Parameters;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>
/// The parameter binders of the built-in plugin types. The catalog validates with them; the
/// projects that implement the types bind with them (<c>TryBind</c>), so both see the same record.
/// </summary>
internal static class BuiltInParameterBinders
{
    private static readonly BuiltInParametersJsonContext s_context = BuiltInParametersJsonContext.Default;

    public static PluginParameterBinder<PickerParameters> Picker { get; } = new(s_context.PickerParameters, PickerParameters.Rules);

    public static PluginParameterBinder<PrefixCacheScorerParameters> PrefixCacheScorer { get; } = new(s_context.PrefixCacheScorerParameters, PrefixCacheScorerParameters.Rules);

    public static PluginParameterBinder<UtilizationDetectorParameters> UtilizationDetector { get; } = new(s_context.UtilizationDetectorParameters, UtilizationDetectorParameters.Rules);

    public static PluginParameterBinder<UtilizationFilterParameters> UtilizationFilter { get; } = new(s_context.UtilizationFilterParameters, UtilizationFilterParameters.Rules);

    public static PluginParameterBinder<ConcurrencyDetectorParameters> ConcurrencyDetector { get; } = new(s_context.ConcurrencyDetectorParameters, ConcurrencyDetectorParameters.Rules);

    public static PluginParameterBinder<StaticUsageLimitPolicyParameters> StaticUsageLimitPolicy { get; } = new(s_context.StaticUsageLimitPolicyParameters, StaticUsageLimitPolicyParameters.Rules);

    public static PluginParameterBinder<PdProfileHandlerParameters> PdProfileHandler { get; } = new(s_context.PdProfileHandlerParameters, PdProfileHandlerParameters.Rules);

    public static PluginParameterBinder<MetricsDataSourceParameters> MetricsDataSource { get; } = new(s_context.MetricsDataSourceParameters, MetricsDataSourceParameters.Rules);

    public static PluginParameterBinder<ModelServerMetricsExtractorParameters> ModelServerMetricsExtractor { get; } = new(s_context.ModelServerMetricsExtractorParameters, ModelServerMetricsExtractorParameters.Rules);

    public static PluginParameterBinder<TokenLoadScorerParameters> TokenLoadScorer { get; } = new(s_context.TokenLoadScorerParameters);

    public static PluginParameterBinder<K8sNotificationSourceParameters> K8sNotificationSource { get; } = new(s_context.K8sNotificationSourceParameters, K8sNotificationSourceParameters.Rules, requireParameters: true);

    public static PluginParameterBinder<RequestAttributeReporterParameters> RequestAttributeReporter { get; } = new(s_context.RequestAttributeReporterParameters, RequestAttributeReporterParameters.Rules);

    public static PluginParameterBinder<BodyFieldToHeaderParameters> BodyFieldToHeader { get; } = new(s_context.BodyFieldToHeaderParameters, BodyFieldToHeaderParameters.Rules);

    // llm-d v0.10 scorers, filters, profile handler and data source (issue 14, items 3 and 6).
    public static PluginParameterBinder<ActiveRequestScorerParameters> ActiveRequestScorer { get; } = new(s_context.ActiveRequestScorerParameters, ActiveRequestScorerParameters.Rules);

    public static PluginParameterBinder<LoadAwareScorerParameters> LoadAwareScorer { get; } = new(s_context.LoadAwareScorerParameters, LoadAwareScorerParameters.Rules);

    public static PluginParameterBinder<NoHitLruScorerParameters> NoHitLruScorer { get; } = new(s_context.NoHitLruScorerParameters);

    public static PluginParameterBinder<SessionAffinityParameters> SessionAffinity { get; } = new(s_context.SessionAffinityParameters, SessionAffinityParameters.Rules);

    public static PluginParameterBinder<ContextLengthAwareParameters> ContextLengthAware { get; } = new(s_context.ContextLengthAwareParameters, ContextLengthAwareParameters.Rules);

    public static PluginParameterBinder<HeaderProfileHandlerParameters> HeaderProfileHandler { get; } = new(s_context.HeaderProfileHandlerParameters);

    public static PluginParameterBinder<EndpointAttributeFilterParameters> EndpointAttributeFilter { get; } = new(s_context.EndpointAttributeFilterParameters, EndpointAttributeFilterParameters.Rules);

    public static PluginParameterBinder<EndpointAttributeScorerParameters> EndpointAttributeScorer { get; } = new(s_context.EndpointAttributeScorerParameters, EndpointAttributeScorerParameters.Rules);

    public static PluginParameterBinder<DcgmDataSourceParameters> DcgmDataSource { get; } = new(s_context.DcgmDataSourceParameters, DcgmDataSourceParameters.Rules);
}
