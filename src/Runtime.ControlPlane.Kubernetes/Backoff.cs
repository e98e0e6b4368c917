namespace Runtime.ControlPlane.Kubernetes;

/// <summary>Exponential back-off with ± jitter, reset after a success.</summary>
internal sealed class Backoff(TimeSpan initial, TimeSpan max, double jitter)
{
    private readonly TimeSpan _initial = initial;
    private TimeSpan _next = initial;

    public TimeSpan Next()
    {
        var current = _next;
        _next = TimeSpan.FromTicks(Math.Min(max.Ticks, current.Ticks * 2));
#pragma warning disable CA5394 // Jitter spreads retries; it needs no cryptographic randomness.
        var factor = 1 + (jitter * ((Random.Shared.NextDouble() * 2) - 1));
#pragma warning restore CA5394
        return TimeSpan.FromTicks((long)(current.Ticks * factor));
    }

    public void Reset() => _next = _initial;
}
