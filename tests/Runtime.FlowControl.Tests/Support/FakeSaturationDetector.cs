using Runtime.Plugins.Saturation;

namespace Runtime.FlowControl.Tests.Support;

/// <summary>
/// A controllable gate: <see cref="Slots"/> requests may be in flight; each dispatch takes one
/// (seen at once through <see cref="OnDispatched"/>), <see cref="Finish"/> gives them back.
/// Saturation = in-flight / slots (1 when there are no slots).
/// </summary>
public sealed class FakeSaturationDetector : ISaturationDetector
{
    private int _slots;
    private int _inFlight;
    private readonly List<int> _dispatchedPriorities = [];

    public FakeSaturationDetector(int slots = 0) => _slots = slots;

    public int Slots
    {
        get => Volatile.Read(ref _slots);
        set => Volatile.Write(ref _slots, value);
    }

    public int InFlight => Volatile.Read(ref _inFlight);

    public IReadOnlyList<int> DispatchedPriorities
    {
        get
        {
            lock (_dispatchedPriorities)
            {
                return [.. _dispatchedPriorities];
            }
        }
    }

    public double GetSaturation()
    {
        int slots = Slots;
        return slots <= 0 ? 1.0 : (double)InFlight / slots;
    }

    public void OnDispatched(int priority)
    {
        Interlocked.Increment(ref _inFlight);
        lock (_dispatchedPriorities)
        {
            _dispatchedPriorities.Add(priority);
        }
    }

    public void Finish(int count = 1) => Interlocked.Add(ref _inFlight, -count);

    /// <summary>Opens the gate wide (in-flight no longer matters).</summary>
    public void OpenWide() => Slots = int.MaxValue;
}
