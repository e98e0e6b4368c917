using Runtime.FlowControl;
using Runtime.FlowControl.Saturation;

namespace Runtime.EndpointPicker.Admission;

/// <summary>
/// Decides whether a request may go to scheduling now. With flow control (the <c>flowControl</c>
/// gate and section), it waits in its priority band's fair queue until the saturation gate lets it
/// through; without, the legacy rule applies: a sheddable request (priority &lt; 0) is rejected
/// while the pool is saturated, everything else goes straight through.
/// </summary>
public sealed class RequestAdmission(ISaturationDetector detector, FlowController? flowControl)
{
    public FlowController? FlowControl => flowControl;

    public ISaturationDetector Detector => detector;

    /// <summary>Returns null when admitted (with the priority it runs at), or the error to send.</summary>
    public async ValueTask<(EndpointPickerError? Error, int Priority)> AdmitAsync(string fairnessId, int priority, long bodyBytes, CancellationToken cancellationToken, TimeSpan sloTtft = default)
    {
        if (flowControl is null)
        {
            return priority < 0 && detector.GetSaturation() >= 1.0 ? (EndpointPickerError.Shed, priority) : (null, priority);
        }

        var result = await flowControl.EnqueueAndWaitAsync(new FlowControlRequest(fairnessId, priority, bodyBytes, SloTtft: sloTtft), cancellationToken).ConfigureAwait(false);
        return result.Outcome switch
        {
            FlowControlOutcome.Dispatched => (null, result.EffectivePriority),
            FlowControlOutcome.RejectedCapacity => (EndpointPickerError.QueueFull, result.EffectivePriority),
            FlowControlOutcome.EvictedTtl => (EndpointPickerError.QueueTtl, result.EffectivePriority),
            FlowControlOutcome.EvictedCancelled => (EndpointPickerError.ClientGone, result.EffectivePriority),
            _ => (EndpointPickerError.QueueUnavailable, result.EffectivePriority),
        };
    }
}
