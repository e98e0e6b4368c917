using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;

namespace Runtime.Scheduling.LlmD;

/// <summary>
/// <c>endpoint-attribute-filter</c> (llm-d v0.10, Alpha): keeps the endpoints whose numeric attribute
/// (published by a data-layer extractor, e.g. <c>GPUUtilization/dcgm-extractor</c>) satisfies
/// <c>value &lt;operator&gt; threshold.value</c>. An endpoint without the attribute is kept with
/// <c>onMissing: Pass</c> (default) and dropped with <c>Fail</c>; with <c>fallbackOnEmpty</c>, dropping every
/// candidate keeps them all instead.
/// </summary>
internal sealed class EndpointAttributeFilter : IFilter
{
    private readonly string _attribute;
    private readonly bool _passOnMissing;
    private readonly bool _fallbackOnEmpty;
    private readonly int _operator;
    private readonly double _value;

    public EndpointAttributeFilter(string name, EndpointAttributeFilterParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Name = name;
        _attribute = parameters.Attribute!;
        _passOnMissing = parameters.OnMissing != EndpointAttributeFilterParameters.Fail;
        _fallbackOnEmpty = parameters.FallbackOnEmpty;
        _operator = Array.IndexOf(EndpointAttributeFilterParameters.Operators, parameters.Algorithm!.Threshold!.Operator);
        _value = parameters.Algorithm.Threshold.Value;
    }

    public string TypeName => BuiltInPlugins.EndpointAttributeFilter;

    public string Name { get; }

    public int Filter(SchedulingContext context, SchedulingRequest request, Span<EndpointState> candidates)
    {
        var kept = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            var endpoint = candidates[i];
            if (endpoint.Attributes.TryGet(_attribute, out var value) ? Matches(value) : _passOnMissing)
            {
                candidates[kept++] = endpoint;
            }
        }

        return kept == 0 && _fallbackOnEmpty ? candidates.Length : kept;
    }

    // Nothing kept means nothing was moved, so the fallback returns the candidates as they came.
    private bool Matches(double value) => _operator switch
    {
        0 => value < _value,
        1 => value <= _value,
        2 => value > _value,
        3 => value >= _value,
        4 => value == _value,
        5 => value != _value,
        _ => false,
    };
}

/// <summary>
/// <c>endpoint-attribute-scorer</c> (llm-d v0.10, Alpha): scores by a numeric attribute, normalised to
/// [0, 1] over <c>normalization.fixedRange</c> (clamped) or, by default, the candidates' own min..max
/// (all equal: 1); <c>linear_lower_is_better</c> inverts it. An endpoint without the attribute scores 0.
/// </summary>
internal sealed class EndpointAttributeScorer : IScorer
{
    private readonly string _attribute;
    private readonly bool _lowerIsBetter;
    private readonly AttributeFixedRange? _fixedRange;

    public EndpointAttributeScorer(string name, EndpointAttributeScorerParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Name = name;
        _attribute = parameters.AttributeKey!;
        _lowerIsBetter = parameters.Algorithm!.Type == EndpointAttributeScorerParameters.LinearLowerIsBetter;
        _fixedRange = parameters.Algorithm.Normalization?.FixedRange;
    }

    public string TypeName => BuiltInPlugins.EndpointAttributeScorer;

    public string Name { get; }

    public void Score(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, Span<double> scores)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        if (_fixedRange is { } range)
        {
            (min, max) = (range.Min, range.Max);
        }
        else
        {
            foreach (var endpoint in candidates)
            {
                if (endpoint.Attributes.TryGet(_attribute, out var value))
                {
                    min = Math.Min(min, value);
                    max = Math.Max(max, value);
                }
            }
        }

        for (var i = 0; i < candidates.Length; i++)
        {
            if (!candidates[i].Attributes.TryGet(_attribute, out var value))
            {
                scores[i] = 0;
                continue;
            }

            if (max == min)
            {
                scores[i] = 1.0;
                continue;
            }

            var normalized = Math.Clamp((value - min) / (max - min), 0.0, 1.0);
            scores[i] = _lowerIsBetter ? 1.0 - normalized : normalized;
        }
    }
}
