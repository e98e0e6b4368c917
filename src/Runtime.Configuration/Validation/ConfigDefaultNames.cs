using Runtime.Plugins.BuiltIn;

namespace Runtime.Configuration.Validation;

/// <summary>
/// Instance names the loader injects when a configuration leaves them out, as the Go project does.
/// A reference to one of these names is valid even though the file never declares the plugin.
/// </summary>
internal static class ConfigDefaultNames
{
    public const string Profile = "default";
    public const string Parser = BuiltInPlugins.OpenAIParser;
    public const string SaturationDetector = BuiltInPlugins.UtilizationDetector;
    public const string Picker = BuiltInPlugins.MaxScorePicker;
    public const string ProfileHandler = BuiltInPlugins.SingleProfileHandler;
    public const string OrderingPolicy = BuiltInPlugins.FcfsOrderingPolicy;
    public const string FairnessPolicy = BuiltInPlugins.GlobalStrictFairnessPolicy;
    public const string UsageLimitPolicy = BuiltInPlugins.StaticUsageLimitPolicy;
    public const string PrefixProducer = BuiltInPlugins.ApproxPrefixCacheProducer;
    public const string MetricsSource = BuiltInPlugins.MetricsDataSource;
    public const string MetricsExtractor = BuiltInPlugins.CoreMetricsExtractor;

    /// <summary>Scorers referenced without a weight get this one.</summary>
    public const double ScorerWeight = 1.0;
}
