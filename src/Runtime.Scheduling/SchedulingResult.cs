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

    public SchedulingStatus Status { get; set; }

    public int Count { get; private set; }

    public ReadOnlySpan<EndpointState> Picked => _picked.AsSpan(0, Count);

    public EndpointState Primary => Count > 0 ? _picked[0] : throw new InvalidOperationException("nothing was picked");

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
        Count = 0;
        Status = SchedulingStatus.NoEndpoints;
    }
}
