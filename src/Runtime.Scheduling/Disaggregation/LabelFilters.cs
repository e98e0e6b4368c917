using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;

namespace Runtime.Scheduling.Disaggregation;

/// <summary>
/// llm-d's by-label filter: keeps an endpoint whose label <c>label</c> has one of the valid values, or
/// that has no such label when <c>allowsNoLabel</c>. The role filters are instances of it on
/// <c>llm-d.ai/role</c>; the deprecated <c>by-label</c> type configures it from its parameters.
/// </summary>
internal sealed class LabelValueFilter : IFilter
{
    private readonly string _label;
    private readonly string[] _validValues;
    private readonly bool _allowsNoLabel;

    public LabelValueFilter(string name, string typeName, string label, bool allowsNoLabel, IEnumerable<string> validValues)
    {
        Name = name;
        TypeName = typeName;
        _label = label;
        _allowsNoLabel = allowsNoLabel;
        _validValues = [.. validValues.Distinct(StringComparer.Ordinal)];
    }

    public string TypeName { get; }

    public string Name { get; }

    /// <summary><c>decode-filter</c>: decoders, combined roles, and endpoints without a role (a plain pool).</summary>
    public static LabelValueFilter Decode(string name) =>
        new(name, DisaggregationCatalog.DecodeFilter, DisaggregationCatalog.RoleLabel, allowsNoLabel: true, ["decode", "prefill-decode", "both", "encode-prefill-decode"]);

    /// <summary><c>prefill-filter</c>: endpoints labelled for prefill only; an unlabelled endpoint is not a prefiller.</summary>
    public static LabelValueFilter Prefill(string name) =>
        new(name, DisaggregationCatalog.PrefillFilter, DisaggregationCatalog.RoleLabel, allowsNoLabel: false, ["prefill", "encode-prefill", "prefill-decode", "both", "encode-prefill-decode"]);

    public static LabelValueFilter Encode(string name) =>
        new(name, DisaggregationCatalog.EncodeFilter, DisaggregationCatalog.RoleLabel, allowsNoLabel: false, ["encode", "encode-prefill", "encode-prefill-decode"]);

    public static LabelValueFilter ByLabel(string name, ByLabelParameters parameters) =>
        new(name, DisaggregationCatalog.ByLabel, parameters.Label!, parameters.AllowsNoLabel, parameters.ValidValues ?? []);

    public int Filter(SchedulingContext context, SchedulingRequest request, Span<EndpointState> candidates)
    {
        var kept = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            if (Keeps(candidates[i].Endpoint))
            {
                candidates[kept++] = candidates[i];
            }
        }

        return kept;
    }

    internal bool Keeps(Endpoint endpoint)
    {
        if (!endpoint.Labels.TryGetValue(_label, out var value))
        {
            // As llm-d: a missing label reads as "", which passes only if "" is a valid value.
            return _allowsNoLabel || Array.IndexOf(_validValues, string.Empty) >= 0;
        }

        return Array.IndexOf(_validValues, value) >= 0;
    }
}

/// <summary>
/// <c>label-selector-filter</c> (and deprecated <c>by-label-selector</c>): keeps endpoints whose labels match
/// a Kubernetes label selector: every matchLabels pair, and every expression (In, NotIn, Exists, DoesNotExist).
/// </summary>
internal sealed class LabelSelectorFilter : IFilter
{
    private readonly (string Key, string Value)[] _matchLabels;
    private readonly (string Key, string Operator, string[] Values)[] _expressions;

    public LabelSelectorFilter(string name, string typeName, LabelSelectorParameters parameters)
    {
        Name = name;
        TypeName = typeName;
        _matchLabels = [.. (parameters.MatchLabels ?? []).Select(p => (p.Key, p.Value))];
        _expressions = [.. (parameters.MatchExpressions ?? []).Select(e => (e.Key!, e.Operator!, (e.Values ?? []).ToArray()))];
    }

    public string TypeName { get; }

    public string Name { get; }

    public int Filter(SchedulingContext context, SchedulingRequest request, Span<EndpointState> candidates)
    {
        var kept = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            if (Matches(candidates[i].Endpoint.Labels))
            {
                candidates[kept++] = candidates[i];
            }
        }

        return kept;
    }

    internal bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        foreach (var (key, value) in _matchLabels)
        {
            if (!labels.TryGetValue(key, out var actual) || actual != value)
            {
                return false;
            }
        }

        foreach (var (key, op, values) in _expressions)
        {
            var has = labels.TryGetValue(key, out var actual);
            var ok = op switch
            {
                "In" => has && Array.IndexOf(values, actual) >= 0,
                "NotIn" => !has || Array.IndexOf(values, actual) < 0,
                "Exists" => has,
                _ => !has,
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
