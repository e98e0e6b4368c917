namespace Runtime.Host.Serve;

/// <summary>
/// Whether the picker can serve yet: with a control plane, only once its sources synced and the
/// pool exists, as the Go endpoint picker's readiness waits for its pool. Liveness does not wait.
/// </summary>
internal sealed class ReadinessGate
{
    private volatile bool _ready;

    public bool IsReady => _ready;

    /// <summary>Raised after <see cref="IsReady"/> changed.</summary>
    public event Action? Changed;

    public void Set(bool ready)
    {
        if (_ready != ready)
        {
            _ready = ready;
            Changed?.Invoke();
        }
    }
}
