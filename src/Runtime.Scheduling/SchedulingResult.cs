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

/// <summary>
/// A request header a profile handler sets (or, with an empty <paramref name="Value"/> and <paramref name="Remove"/>,
/// removes) on the way to the picked endpoint, e.g. llm-d's <c>x-prefiller-host-port</c>.
/// </summary>
public readonly record struct SchedulingHeader(ReadOnlyMemory<byte> Name, ReadOnlyMemory<byte> Value, bool Remove = false);

/// <summary>The endpoints picked for one request, primary first. Reused per stream: <see cref="Reset"/> between requests.</summary>
public sealed class SchedulingResult
{
    private SchedulingHeader[] _headers = new SchedulingHeader[2];
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

    /// <summary>The endpoint a separate prefill stage picked (llm-d's prefill profile), or null when the request was not disaggregated.</summary>
    public EndpointState? Prefill { get; set; }

    /// <summary>The profile whose picks <see cref="Picked"/> holds (llm-d's primary profile), null before one picked.</summary>
    internal string? PrimaryProfile { get; set; }

    /// <summary>The profile that picked <see cref="Prefill"/>.</summary>
    internal string? PrefillProfile { get; set; }

    /// <summary>
    /// The first pick of the profile named <paramref name="profile"/> for this request, or null when that profile
    /// did not run or picked nothing (llm-d's <c>ProfileResults[name].TargetEndpoints[0]</c>).
    /// </summary>
    internal EndpointState? PickOf(string profile)
    {
        if (Prefill is not null && string.Equals(profile, PrefillProfile, StringComparison.Ordinal))
        {
            return Prefill;
        }

        return Count > 0 && string.Equals(profile, PrimaryProfile, StringComparison.Ordinal) ? _picked[0] : null;
    }

    /// <summary>When not 0, the request goes to this port on each picked endpoint's host (llm-d's data-parallel <c>primaryPort</c>).</summary>
    public int DestinationPort { get; set; }

    /// <summary>Headers to set or remove on the request, in order.</summary>
    public ReadOnlySpan<SchedulingHeader> Headers => _headers.AsSpan(0, HeaderCount);

    private int HeaderCount { get; set; }

    /// <summary>Sets <paramref name="name"/> (lower-case) to <paramref name="value"/>, replacing an earlier entry for it.</summary>
    public void SetHeader(ReadOnlyMemory<byte> name, ReadOnlyMemory<byte> value) => PutHeader(new SchedulingHeader(name, value));

    /// <summary>Removes <paramref name="name"/> from the request (e.g. a client's own <c>x-prefiller-host-port</c>), replacing an earlier entry for it.</summary>
    public void RemoveHeader(ReadOnlyMemory<byte> name) => PutHeader(new SchedulingHeader(name, default, Remove: true));

    private void PutHeader(SchedulingHeader header)
    {
        for (var i = 0; i < HeaderCount; i++)
        {
            if (_headers[i].Name.Span.SequenceEqual(header.Name.Span))
            {
                _headers[i] = header;
                return;
            }
        }

        if (HeaderCount == _headers.Length)
        {
            Array.Resize(ref _headers, _headers.Length * 2);
        }

        _headers[HeaderCount++] = header;
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
        Array.Clear(_headers, 0, HeaderCount);
        Count = 0;
        ScoredCount = 0;
        HeaderCount = 0;
        Prefill = null;
        PrimaryProfile = null;
        PrefillProfile = null;
        DestinationPort = 0;
        Status = SchedulingStatus.NoEndpoints;
    }
}
