using System.Diagnostics;
using Runtime.Endpoints;
using Runtime.Scheduling.Framework;

namespace Runtime.Scheduling;

/// <summary>A weighted scorer in a profile.</summary>
public readonly record struct WeightedScorer(IScorer Scorer, double Weight);

/// <summary>
/// One configured scheduling profile: filters narrow the candidates, weighted scorers rate them
/// (total = Σ weight × clamp(score, 0, 1)), the picker chooses primary and fallbacks.
/// </summary>
public sealed class SchedulingProfile
{
    private readonly IFilter[] _filters;
    private readonly WeightedScorer[] _scorers;

    public SchedulingProfile(string name, IReadOnlyList<IFilter> filters, IReadOnlyList<WeightedScorer> scorers, IPicker picker)
    {
        Name = name;
        _filters = [.. filters];
        _scorers = [.. scorers];
        Picker = picker;
    }

    public string Name { get; }

    public IReadOnlyList<IFilter> Filters => _filters;

    public IReadOnlyList<WeightedScorer> Scorers => _scorers;

    public IPicker Picker { get; }

    /// <summary>Runs filters, scorers and the picker over <paramref name="candidates"/>, adding the picks to <paramref name="result"/>.</summary>
    public SchedulingStatus Run(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, SchedulingResult result)
    {
        if (candidates.IsEmpty)
        {
            return result.Status = SchedulingStatus.NoEndpoints;
        }

        var working = context.Candidates(candidates.Length);
        candidates.CopyTo(working);
        var count = working.Length;
        try
        {
            foreach (var filter in _filters)
            {
                var started = Stopwatch.GetTimestamp();
                count = filter.Filter(context, request, working[..count]);
                SchedulingMetrics.PluginRan(SchedulingMetrics.Filter, filter, started);
                if (count == 0)
                {
                    return result.Status = SchedulingStatus.AllFiltered;
                }
            }

            var kept = working[..count];
            var totals = context.Totals(count);
            totals.Clear();
            var scores = context.Scores(count);
            foreach (var (scorer, weight) in _scorers)
            {
                scores.Clear();
                var started = Stopwatch.GetTimestamp();
                scorer.Score(context, request, kept, scores);
                SchedulingMetrics.PluginRan(SchedulingMetrics.Scorer, scorer, started);
                for (var i = 0; i < totals.Length; i++)
                {
                    totals[i] += weight * ScoreMath.Clamp01(scores[i]);
                }
            }

            if (result.RecordScores)
            {
                result.SetScores(kept, totals);
            }

            var picking = Stopwatch.GetTimestamp();
            Picker.Pick(context, kept, totals, result);
            SchedulingMetrics.PluginRan(SchedulingMetrics.Picker, Picker, picking);
            if (result.Count == 0)
            {
                return result.Status = SchedulingStatus.AllFiltered;
            }

            result.PrimaryProfile = Name;
            return result.Status = SchedulingStatus.Picked;
        }
        finally
        {
            context.ReleaseCandidates(candidates.Length);
        }
    }
}
