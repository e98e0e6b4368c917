namespace Runtime.Plugins.Saturation;

/// <summary>
/// How busy the model pool is: 0 idle, 1 at capacity. The endpoint picker provides the real
/// detectors (<c>utilization-detector</c>, <c>concurrency-detector</c>, in scheduling); flow control
/// gates on it. It lives here, below both, so neither depends on the other for it.
/// </summary>
/// <remarks>
/// The dispatcher drains as many requests as the gate allows in one go, so a detector that
/// counts in-flight work must see each dispatch at once: <see cref="OnDispatched"/> is called
/// (on the dispatching thread) for every request released, before the next gate check. When
/// capacity frees up (a request finished, fresh metrics), call flow control's
/// <c>FlowController.NotifyCapacityChanged</c> so queued requests are re-checked.
/// Implementations must be thread-safe and must not block.
/// </remarks>
public interface ISaturationDetector
{
    double GetSaturation();

    void OnDispatched(int priority)
    {
    }
}

/// <summary>Never saturated: flow control only enforces limits, TTL and cancellation.</summary>
public sealed class NeverSaturatedDetector : ISaturationDetector
{
    public static readonly NeverSaturatedDetector Instance = new();

    public double GetSaturation() => 0;
}
