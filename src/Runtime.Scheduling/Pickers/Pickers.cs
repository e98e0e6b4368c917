using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Scheduling.Framework;

namespace Runtime.Scheduling.Pickers;

/// <summary>
/// <c>max-score-picker</c>: the highest total first, then the next highest as fallbacks; ties are broken
/// uniformly at random (GIE shuffles before sorting to the same effect), so equal endpoints share load.
/// </summary>
internal sealed class MaxScorePicker(string name, int maxNumOfEndpoints = 1) : IPicker
{
    public string TypeName => BuiltInPlugins.MaxScorePicker;

    public string Name { get; } = name;

    public int MaxNumOfEndpoints { get; } = Math.Max(1, maxNumOfEndpoints);

    public void Pick(SchedulingContext context, ReadOnlySpan<EndpointState> candidates, Span<double> scores, SchedulingResult result) =>
        TopK.Select(candidates, scores, MaxNumOfEndpoints, result);
}

/// <summary><c>random-picker</c>: distinct endpoints uniformly at random, ignoring scores.</summary>
internal sealed class RandomPicker(string name, int maxNumOfEndpoints = 1) : IPicker
{
    public string TypeName => BuiltInPlugins.RandomPicker;

    public string Name { get; } = name;

    public int MaxNumOfEndpoints { get; } = Math.Max(1, maxNumOfEndpoints);

    public void Pick(SchedulingContext context, ReadOnlySpan<EndpointState> candidates, Span<double> scores, SchedulingResult result) =>
        PickUniform(context, candidates, MaxNumOfEndpoints, result);

    internal static void PickUniform(SchedulingContext context, ReadOnlySpan<EndpointState> candidates, int count, SchedulingResult result)
    {
        var n = candidates.Length;
        var k = Math.Min(count, n);
        if (k == 1)
        {
            result.Add(candidates[FastRandom.Next(n)]);
            return;
        }

        // Partial Fisher-Yates over an index buffer: k distinct picks in O(n + k).
        var order = context.Indexes(n);
        for (var i = 0; i < n; i++)
        {
            order[i] = i;
        }

        for (var i = 0; i < k; i++)
        {
            var j = i + FastRandom.Next(n - i);
            (order[i], order[j]) = (order[j], order[i]);
            result.Add(candidates[order[i]]);
        }
    }
}

/// <summary>
/// <c>weighted-random-picker</c>: each pick's probability is proportional to its total score, fallbacks
/// sampled without replacement (A-Res, as GIE: key = U^(1/score), the k largest keys win; computed as
/// ln(U)/score, which orders the same). Zero scores come last; if every score is 0, picks uniformly.
/// </summary>
internal sealed class WeightedRandomPicker(string name, int maxNumOfEndpoints = 1) : IPicker
{
    public string TypeName => BuiltInPlugins.WeightedRandomPicker;

    public string Name { get; } = name;

    public int MaxNumOfEndpoints { get; } = Math.Max(1, maxNumOfEndpoints);

    public void Pick(SchedulingContext context, ReadOnlySpan<EndpointState> candidates, Span<double> scores, SchedulingResult result)
    {
        var anyPositive = false;
        for (var i = 0; i < scores.Length; i++)
        {
            if (scores[i] > 0)
            {
                anyPositive = true;
                break;
            }
        }

        if (!anyPositive)
        {
            RandomPicker.PickUniform(context, candidates, MaxNumOfEndpoints, result);
            return;
        }

        var keys = context.Keys(candidates.Length);
        for (var i = 0; i < keys.Length; i++)
        {
            var score = scores[i];
            if (score > 0)
            {
                // 1 − U is in (0, 1], so the log is finite.
                keys[i] = Math.Log(1 - FastRandom.NextDouble()) / score;
            }
            else
            {
                keys[i] = double.MinValue;
            }
        }

        TopK.Select(candidates, keys, MaxNumOfEndpoints, result);
    }
}

internal static class TopK
{
    /// <summary>
    /// Adds the k highest-valued candidates, highest first, ties broken uniformly (reservoir sampling
    /// over the tied ones). Marks taken entries NaN in <paramref name="values"/> (scratch), since NaN
    /// compares false with everything. O(k·n), and k is small (1 to a few fallbacks).
    /// </summary>
    public static void Select(ReadOnlySpan<EndpointState> candidates, Span<double> values, int count, SchedulingResult result)
    {
        var k = Math.Min(count, candidates.Length);
        for (var round = 0; round < k; round++)
        {
            var best = double.NegativeInfinity;
            var bestIndex = -1;
            var ties = 0;
            for (var i = 0; i < values.Length; i++)
            {
                var value = values[i];
                if (value > best || (bestIndex < 0 && !double.IsNaN(value)))
                {
                    best = value;
                    bestIndex = i;
                    ties = 1;
                }
                else if (value == best)
                {
                    ties++;
                    if (FastRandom.Next(ties) == 0)
                    {
                        bestIndex = i;
                    }
                }
            }

            if (bestIndex < 0)
            {
                return;
            }

            result.Add(candidates[bestIndex]);
            values[bestIndex] = double.NaN;
        }
    }
}
