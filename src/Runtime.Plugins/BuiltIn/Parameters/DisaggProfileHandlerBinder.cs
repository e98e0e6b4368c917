using System.Text.Json;
using Runtime.Plugins.Parameters;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>
/// Binds <c>disagg-profile-handler</c> parameters as llm-d v0.10 does: the nested schema (<c>stageOrder</c>,
/// <c>profiles</c>, <c>deciders</c>) strictly first; if that fails, the deprecated flat schema strictly
/// (a warning per flat field used); if both fail, one error quoting both. With <c>pd: true</c> it binds
/// <c>pd-profile-handler</c>'s own fields instead, into the same <see cref="DisaggSettings"/>.
/// </summary>
internal sealed class DisaggProfileHandlerBinder(bool pd) : IPluginParameterBinder, IPluginReferenceSource
{
    public const string EncodeUnavailable = "encode/prefill/decode (E/P/D) disaggregation is not available in this build: no encode decider or x-encoder-hosts-ports support; remove deciders.encode to run prefill/decode";

    private static readonly PluginParameterBinder<DisaggProfileHandlerParameters> s_nested = new(DisaggregationParametersJsonContext.Default.DisaggProfileHandlerParameters);
    private static readonly PluginParameterBinder<LegacyDisaggProfileHandlerParameters> s_legacy = new(DisaggregationParametersJsonContext.Default.LegacyDisaggProfileHandlerParameters);

    public IReadOnlyList<string> FieldNames => pd
        ? BuiltInParameterBinders.PdProfileHandler.FieldNames
        : [.. s_nested.FieldNames, .. s_legacy.FieldNames.Except(s_nested.FieldNames)];

    public void Validate(JsonElement parameters, string path, ValidationErrors errors) => TryBind(parameters, path, errors, out _);

    public IEnumerable<PluginReference> References(JsonElement parameters, string path)
    {
        var errors = new ValidationErrors();
        if (!TryBind(parameters, path, errors, out var settings) || settings.PrefillDecider.Length == 0)
        {
            return [];
        }

        var name = settings.PrefillDecider;
        return pd
            ? [new PluginReference(FieldPath.Field(path, "deciderPluginName"), name, PluginKinds.Decider, $"invalid decider plugin type: {name}", $"decider plugin of type: {name} does not implement pdDeciderPlugin")]
            : [new PluginReference(FieldPath.Field(path, settings.Legacy ? "prefillDeciderPluginName" : "deciders.prefill"), name, PluginKinds.Decider, $"deciders.prefill plugin not found: {name}", $"plugin {name} does not implement prefillDeciderPlugin")];
    }

    public bool TryBind(JsonElement parameters, string path, ValidationErrors errors, out DisaggSettings settings)
    {
        settings = new DisaggSettings(DisaggStageOrder.DecodeFirst, "decode", "prefill", "encode", string.Empty, string.Empty, 0, Legacy: pd);
        return pd ? TryBindPd(parameters, path, errors, ref settings) : TryBindDisagg(parameters, path, errors, ref settings);
    }

    private static bool TryBindPd(JsonElement parameters, string path, ValidationErrors errors, ref DisaggSettings settings)
    {
        if (!BuiltInParameterBinders.PdProfileHandler.TryBind(parameters, path, errors, out var p) || p is null)
        {
            return false;
        }

        settings = settings with
        {
            DecodeProfile = p.DecodeProfile,
            PrefillProfile = p.PrefillProfile,
            PrefillDecider = p.DeciderPluginName,
            PrimaryPort = p.PrimaryPort,
            PrefixMatchInfoProducerName = p.PrefixMatchInfoProducerName,
        };
        if (p.PrimaryPort != 0)
        {
            errors.Warn(FieldPath.Field(path, "primaryPort"), "Deprecated: primaryPort not needed with Istio >= 1.28.1");
        }

        return true;
    }

    private static bool TryBindDisagg(JsonElement parameters, string path, ValidationErrors errors, ref DisaggSettings settings)
    {
        string? stageOrder = null, decode = null, prefill = null, encode = null, prefillDecider = null, encodeDecider = null;
        var legacy = false;
        if (parameters.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null))
        {
            var nestedErrors = new ValidationErrors();
            if (s_nested.TryBind(parameters, path, nestedErrors, out var nested) && nested is not null)
            {
                (stageOrder, decode, prefill, encode) = (nested.StageOrder, nested.Profiles?.Decode, nested.Profiles?.Prefill, nested.Profiles?.Encode);
                (prefillDecider, encodeDecider) = (nested.Deciders?.Prefill, nested.Deciders?.Encode);
            }
            else
            {
                var legacyErrors = new ValidationErrors();
                if (!s_legacy.TryBind(parameters, path, legacyErrors, out var flat) || flat is null)
                {
                    errors.ReportInvalid(path,
                        "failed to parse parameters of the disagg-profile-handler: " +
                        $"nested schema error: {Describe(nestedErrors)}; legacy schema error: {Describe(legacyErrors)} " +
                        "(use one format exclusively: either nested profiles/deciders or the deprecated flat fields)");
                    return false;
                }

                legacy = true;
                errors.Warn(path, "Deprecated: using flat parameter format, migrate to nested profiles/deciders format");
                stageOrder = flat.StageOrder;
                decode = Deprecated(flat.DecodeProfile, "decodeProfile", "profiles.decode");
                prefill = Deprecated(flat.PrefillProfile, "prefillProfile", "profiles.prefill");
                encode = Deprecated(flat.EncodeProfile, "encodeProfile", "profiles.encode");
                prefillDecider = Deprecated(flat.PrefillDeciderPluginName, "prefillDeciderPluginName", "deciders.prefill");
                if (string.IsNullOrEmpty(prefillDecider))
                {
                    prefillDecider = Deprecated(flat.DeciderPluginName, "deciderPluginName", "deciders.prefill");
                }

                encodeDecider = Deprecated(flat.EncodeDeciderPluginName, "encodeDeciderPluginName", "deciders.encode");

                string? Deprecated(string? value, string field, string replacement)
                {
                    if (!string.IsNullOrEmpty(value))
                    {
                        errors.Warn(FieldPath.Field(path, field), $"Deprecated parameter '{field}', use '{replacement}' instead");
                    }

                    return value;
                }
            }
        }

        var before = errors.Count;
        if (!TryParseStageOrder(stageOrder, out var order))
        {
            errors.Report(FieldPath.Field(path, "stageOrder"), $"invalid stage order \"{stageOrder}\", must be \"decode-first\" or \"prefill-first\"");
        }
        else if (order == DisaggStageOrder.PrefillFirst && !string.IsNullOrEmpty(prefillDecider))
        {
            errors.Report(FieldPath.Field(path, legacy ? "prefillDeciderPluginName" : "deciders.prefill"), "prefill decider is not supported in prefill-first stage order");
        }

        if (!string.IsNullOrEmpty(encodeDecider))
        {
            errors.Report(FieldPath.Field(path, legacy ? "encodeDeciderPluginName" : "deciders.encode"), EncodeUnavailable);
        }

        settings = settings with
        {
            StageOrder = order,
            DecodeProfile = string.IsNullOrEmpty(decode) ? "decode" : decode,
            PrefillProfile = string.IsNullOrEmpty(prefill) ? "prefill" : prefill,
            EncodeProfile = string.IsNullOrEmpty(encode) ? "encode" : encode,
            PrefillDecider = prefillDecider ?? string.Empty,
            EncodeDecider = encodeDecider ?? string.Empty,
            Legacy = legacy,
        };
        return errors.Count == before;
    }

    /// <summary>llm-d's ParseStageOrder: case-insensitive, '-' and '_' ignored; empty means decode-first.</summary>
    internal static bool TryParseStageOrder(string? text, out DisaggStageOrder order)
    {
        var key = (text ?? string.Empty).Replace("-", string.Empty, StringComparison.Ordinal).Replace("_", string.Empty, StringComparison.Ordinal).ToLowerInvariant();
        (var ok, order) = key switch
        {
            "" or "decodefirst" or "decode" => (true, DisaggStageOrder.DecodeFirst),
            "prefillfirst" or "prefill" => (true, DisaggStageOrder.PrefillFirst),
            _ => (false, DisaggStageOrder.DecodeFirst),
        };
        return ok;
    }

    private static string Describe(ValidationErrors errors) => string.Join(", ", errors.Errors.Select(e => e.ToString()));
}
