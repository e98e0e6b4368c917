using Runtime.Endpoints;

namespace Runtime.Scheduling;

/// <summary>What scheduling decided.</summary>
public enum SchedulingStatus
{
    /// <summary><see cref="SchedulingResult.Picked"/> holds the primary endpoint then fallbacks.</summary>
    Picked,

    /// <summary>There were no candidates at all (HTTP 503).</summary>
    NoEndpoints,

    /// <summary>Filters removed every candidate (HTTP 429: the pool cannot take this request now).</summary>
    AllFiltered,
}

/// <summary>The endpoints picked for one request, primary first. Reused per stream: <see cref="Reset"/> between requests.</summary>
public sealed class SchedulingResult
{
    private EndpointState[] _picked = new EndpointState[4];
    private EndpointState[] _scored = [];
    private double[] _scores = [];

    public SchedulingStatus Status { get; set; }

    public int Count { get; private set; }

    public ReadOnlySpan<EndpointState> Picked => _picked.AsSpan(0, Count);

    public EndpointState Primary => Count > 0 ? _picked[0] : throw new InvalidOperationException("nothing was picked");

    /// <summary>
    /// Keep every scored candidate with its weighted total (llm-d's <c>--emit-endpoint-scores</c>).
    /// Off by default: copying the scores costs time on every pick.
    /// </summary>
    public bool RecordScores { get; set; }

    /// <summary>The candidates the deciding profile scored, index-aligned with <see cref="Scores"/>; empty unless <see cref="RecordScores"/>.</summary>
    public ReadOnlySpan<EndpointState> ScoredCandidates => _scored.AsSpan(0, ScoredCount);

    public ReadOnlySpan<double> Scores => _scores.AsSpan(0, ScoredCount);

    private int ScoredCount { get; set; }

    /// <summary>Records the weighted totals of a profile's candidates, before its picker reorders them.</summary>
    public void SetScores(ReadOnlySpan<EndpointState> candidates, ReadOnlySpan<double> totals)
    {
        if (_scored.Length < candidates.Length)
        {
            _scored = new EndpointState[Math.Max(candidates.Length, 16)];
            _scores = new double[_scored.Length];
        }

        candidates.CopyTo(_scored);
        totals.CopyTo(_scores);
        ScoredCount = candidates.Length;
    }

    public void Add(EndpointState endpoint)
    {
        if (Count == _picked.Length)
        {
            Array.Resize(ref _picked, _picked.Length * 2);
        }

        _picked[Count++] = endpoint;
    }

    public void Reset()
    {
        Array.Clear(_picked, 0, Count);
        Array.Clear(_scored, 0, ScoredCount);
        Count = 0;
        ScoredCount = 0;
        Status = SchedulingStatus.NoEndpoints;
    }
}
