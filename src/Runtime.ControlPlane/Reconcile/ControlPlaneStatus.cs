using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Reconcile;

/// <summary>
/// The control plane as operators see it: rounds run, the world generation last reconciled, the
/// last error, each source's sync state, and readiness (every source synced and the pool found,
/// as the Go endpoint picker reports ready only once its pool has synced).
/// </summary>
internal sealed record ControlPlaneStatus(
    long Rounds,
    long ReconciledGeneration,
    DateTimeOffset? LastRoundAt,
    string? LastError,
    bool PoolFound,
    int Endpoints,
    IReadOnlyDictionary<string, SourceState> Sources)
{
    public static readonly ControlPlaneStatus Initial = new(0, 0, null, null, false, 0, new Dictionary<string, SourceState>());

    public bool Ready => PoolFound && Sources.Count > 0 && Sources.Values.All(s => s.Synced);
}
