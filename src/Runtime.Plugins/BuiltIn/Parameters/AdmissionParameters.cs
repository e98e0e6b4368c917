using System.Globalization;
using System.Text.Json.Serialization;
using Runtime.Plugins.Parameters;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>
/// Parameters of llm-d v0.10's <c>probabilistic-admitter</c>: sheddable requests are refused with probability
/// <c>min(saturation^power · k, 1)</c>, saturation being the mean over endpoints of
/// <c>max(waiting queue / queueDepthThreshold, KV-cache use / kvCacheUtilThreshold)</c>.
/// </summary>
/// <remarks>Defaults in constructor parameters (dotnet/runtime#84484).</remarks>
internal sealed record ProbabilisticAdmitterParameters(int QueueDepthThreshold = 5, double KvCacheUtilThreshold = 0.8, double Power = 5.0, double K = 300.0)
{
    [JsonPropertyName("queueDepthThreshold")]
    public int QueueDepthThreshold { get; init; } = QueueDepthThreshold;

    [JsonPropertyName("kvCacheUtilThreshold")]
    public double KvCacheUtilThreshold { get; init; } = KvCacheUtilThreshold;

    [JsonPropertyName("power")]
    public double Power { get; init; } = Power;

    [JsonPropertyName("k")]
    public double K { get; init; } = K;

    // llm-d's texts (probabilisticadmitter/plugin.go).
    internal static void Rules(ProbabilisticAdmitterParameters p, string path, ValidationErrors errors)
    {
        if (p.QueueDepthThreshold <= 0)
        {
            errors.Report(FieldPath.Field(path, "queueDepthThreshold"), $"plugin 'probabilistic-admitter': queueDepthThreshold must be > 0, got {p.QueueDepthThreshold}");
        }

        if (!(p.KvCacheUtilThreshold > 0))
        {
            errors.Report(FieldPath.Field(path, "kvCacheUtilThreshold"), $"plugin 'probabilistic-admitter': kvCacheUtilThreshold must be > 0, got {Format(p.KvCacheUtilThreshold)}");
        }

        if (!(p.Power > 0))
        {
            errors.Report(FieldPath.Field(path, "power"), $"plugin 'probabilistic-admitter': power must be > 0, got {Format(p.Power)}");
        }

        if (!(p.K > 0))
        {
            errors.Report(FieldPath.Field(path, "k"), $"plugin 'probabilistic-admitter': k must be > 0, got {Format(p.K)}");
        }
    }

    internal static string Format(double value) => value.ToString("G", CultureInfo.InvariantCulture);
}

/// <summary>Parameters of llm-d v0.10's <c>program-aware-fairness</c> (names, defaults and checks as its Config).</summary>
internal sealed record ProgramAwareFairnessParameters(
    string Strategy = "las",
    double EvictionTtlSeconds = 3600,
    double EvictionSweepSeconds = 300,
    double LasWeightService = 0.8,
    double LasWeightHeadWait = 0.2,
    double LasDecayFactor = 0.99997,
    double LasHalfLifeSeconds = 0)
{
    [JsonPropertyName("strategy")]
    public string Strategy { get; init; } = Strategy;

    [JsonPropertyName("evictionTtlSeconds")]
    public double EvictionTtlSeconds { get; init; } = EvictionTtlSeconds;

    [JsonPropertyName("evictionSweepSeconds")]
    public double EvictionSweepSeconds { get; init; } = EvictionSweepSeconds;

    [JsonPropertyName("lasWeightService")]
    public double LasWeightService { get; init; } = LasWeightService;

    [JsonPropertyName("lasWeightHeadWait")]
    public double LasWeightHeadWait { get; init; } = LasWeightHeadWait;

    [JsonPropertyName("lasDecayFactor")]
    public double LasDecayFactor { get; init; } = LasDecayFactor;

    [JsonPropertyName("lasHalfLifeSeconds")]
    public double LasHalfLifeSeconds { get; init; } = LasHalfLifeSeconds;

    internal static void Rules(ProgramAwareFairnessParameters p, string path, ValidationErrors errors)
    {
        static string F(double v) => ProbabilisticAdmitterParameters.Format(v);
        if (p.EvictionTtlSeconds < 0)
        {
            errors.Report(FieldPath.Field(path, "evictionTtlSeconds"), $"evictionTtlSeconds must be >= 0, got {F(p.EvictionTtlSeconds)}");
        }

        if (!(p.EvictionSweepSeconds > 0))
        {
            errors.Report(FieldPath.Field(path, "evictionSweepSeconds"), $"evictionSweepSeconds must be > 0, got {F(p.EvictionSweepSeconds)}");
        }

        if (p.LasWeightService < 0)
        {
            errors.Report(FieldPath.Field(path, "lasWeightService"), $"lasWeightService must be >= 0, got {F(p.LasWeightService)}");
        }

        if (p.LasWeightHeadWait < 0)
        {
            errors.Report(FieldPath.Field(path, "lasWeightHeadWait"), $"lasWeightHeadWait must be >= 0, got {F(p.LasWeightHeadWait)}");
        }

        if (!(p.LasDecayFactor > 0 && p.LasDecayFactor <= 1))
        {
            errors.Report(FieldPath.Field(path, "lasDecayFactor"), $"lasDecayFactor must be in (0, 1], got {F(p.LasDecayFactor)}");
        }

        if (p.LasHalfLifeSeconds < 0)
        {
            errors.Report(FieldPath.Field(path, "lasHalfLifeSeconds"), $"lasHalfLifeSeconds must be >= 0, got {F(p.LasHalfLifeSeconds)}");
        }

        // llm-d treats an empty strategy as its default, las.
        if (p.Strategy is not ("" or "las"))
        {
            errors.Report(FieldPath.Field(path, "strategy"), $"unknown scoring strategy \"{p.Strategy}\": only \"las\" is supported");
        }
    }
}

/// <summary>Parameters of llm-d v0.10's <c>agent-identity</c>: session headers checked before its built-in ones.</summary>
internal sealed record AgentIdentityParameters(IReadOnlyList<string>? AdditionalSessionHeaders = null)
{
    /// <summary>The built-in session headers, in llm-d's order: Claude Code, OpenCode, Codex, Codex (legacy).</summary>
    public static readonly string[] DefaultSessionHeaders = ["x-claude-code-session-id", "x-session-affinity", "session-id", "session_id"];

    [JsonPropertyName("additionalSessionHeaders")]
    public IReadOnlyList<string> AdditionalSessionHeaders { get; init; } = AdditionalSessionHeaders ?? [];

    /// <summary>The headers checked, in order, lower-cased (Envoy sends header names lower-case).</summary>
    public IReadOnlyList<string> SessionHeaders() =>
        [.. AdditionalSessionHeaders.Select(h => h.ToLowerInvariant()), .. DefaultSessionHeaders];
}

/// <summary>Source-generated binding of the admission and flow-control parameters (native-AOT safe).</summary>
[JsonSerializable(typeof(ProbabilisticAdmitterParameters))]
[JsonSerializable(typeof(ProgramAwareFairnessParameters))]
[JsonSerializable(typeof(AgentIdentityParameters))]
internal sealed partial class AdmissionParametersJsonContext : JsonSerializerContext;

/// <summary>The binders of <see cref="ProbabilisticAdmitterParameters"/> and <see cref="ProgramAwareFairnessParameters"/>.</summary>
internal static class AdmissionParameterBinders
{
    public static PluginParameterBinder<ProbabilisticAdmitterParameters> ProbabilisticAdmitter { get; } = new(AdmissionParametersJsonContext.Default.ProbabilisticAdmitterParameters, ProbabilisticAdmitterParameters.Rules);

    public static PluginParameterBinder<AgentIdentityParameters> AgentIdentity { get; } = new(AdmissionParametersJsonContext.Default.AgentIdentityParameters);

    public static PluginParameterBinder<ProgramAwareFairnessParameters> ProgramAwareFairness { get; } = new(AdmissionParametersJsonContext.Default.ProgramAwareFairnessParameters, ProgramAwareFairnessParameters.Rules);
}
