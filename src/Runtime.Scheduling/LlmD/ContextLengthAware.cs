using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;

namespace Runtime.Scheduling.LlmD;

/// <summary>
/// <c>context-length-aware</c> (llm-d v0.10): endpoints labelled <c>llm-d.ai/context-length-range=min-max</c>
/// (the <c>label</c> parameter) serve prompts of that many tokens. The request's length is its prompt's
/// estimated tokens, 4 bytes each (llm-d's tokenizer-free estimate; 0 without a prompt). As a scorer: in
/// range 0.3 + 0.7 × (0.7 × 1 / (1 + width / 10000) + 0.3 × headroom / width) (a zero-width range 1),
/// out of range 0.3 / (1 + distance / 1000), unlabelled 0.5, an unreadable label 0. As a filter (only
/// with <c>enableFiltering</c>): labelled endpoints out of range or with an unreadable label are dropped.
/// </summary>
internal sealed class ContextLengthAware(string name, ContextLengthAwareParameters parameters) : IScorer, IFilter
{
    private const double MaxFallbackScore = 0.3;

    private readonly string _label = parameters.Label ?? ContextLengthAwareParameters.DefaultLabel;
    private readonly bool _filtering = parameters.EnableFiltering;

    public string TypeName => BuiltInPlugins.ContextLengthAware;

    public string Name { get; } = name;

    public int Filter(SchedulingContext context, SchedulingRequest request, Span<EndpointState> candidates)
    {
        if (!_filtering)
        {
            return candidates.Length;
        }

        var length = ContextLength(request);
        var kept = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            var endpoint = candidates[i];
            if (!endpoint.Endpoint.Labels.TryGetValue(_label, out var range)
                || (TryParseRange(range, out var min, out var max) && length >= min && length <= max))
            {
                candidates[kept++] = endpoint;
            }
        }

        return kept;
    }

    public void Score(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, Span<double> scores)
    {
        var length = ContextLength(request);
        for (var i = 0; i < candidates.Length; i++)
        {
            if (!candidates[i].Endpoint.Labels.TryGetValue(_label, out var range))
            {
                scores[i] = 0.5;
            }
            else
            {
                scores[i] = TryParseRange(range, out var min, out var max) ? RangeScore(length, min, max) : 0.0;
            }
        }
    }

    /// <summary>Estimated prompt tokens: 4 bytes per token, rounded up.</summary>
    internal static long ContextLength(SchedulingRequest request) => (request.Prompt.Length + 3) / 4;

    internal static double RangeScore(long length, long min, long max)
    {
        if (length >= min && length <= max)
        {
            var width = max - min;
            if (width == 0)
            {
                return 1.0;
            }

            var widthScore = 1.0 / (1.0 + (width / 10000.0));
            var position = (double)(max - length) / width;
            return MaxFallbackScore + (((0.7 * widthScore) + (0.3 * position)) * (1.0 - MaxFallbackScore));
        }

        var distance = length > max ? length - max : min - length;
        return MaxFallbackScore / (1.0 + (distance / 1000.0));
    }

    /// <summary>"min-max" with optional blanks around each bound, min ≤ max (llm-d's parseContextRange).</summary>
    internal static bool TryParseRange(ReadOnlySpan<char> text, out long min, out long max)
    {
        min = max = 0;
        var dash = text.IndexOf('-');
        if (dash < 0 || text[(dash + 1)..].Contains('-'))
        {
            return false;
        }

        return int.TryParse(text[..dash].Trim(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var low)
            && int.TryParse(text[(dash + 1)..].Trim(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var high)
            && (min = low) <= (max = high);
    }
}
