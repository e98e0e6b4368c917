using System.Diagnostics;
using Runtime.Configuration.Model;
using Runtime.FlowControl;
using Runtime.ExtProc.Processing;
using Runtime.Plugins.Saturation;

namespace Runtime.EndpointPicker.Admission;

/// <summary>
/// Decides whether a request may go to scheduling now. With flow control (the <c>flowControl</c>
/// gate and section), it waits in its priority band's fair queue until the saturation gate lets it
/// through; without, the legacy rule applies: a sheddable request (priority &lt; 0) is rejected
/// while the pool is saturated, everything else goes straight through.
/// </summary>
/// <remarks>
/// The flow-control families are recorded here, where the request's model names are known, the way
/// Go's <c>FlowController.EnqueueAndWait</c> records them: held in the queue gauges for the whole
/// wait, the synchronous enqueue timed (<c>NotYetFinalized</c> when it queued), the total time and
/// final outcome once it is done.
/// </remarks>
internal sealed class RequestAdmission(ISaturationDetector detector, FlowController? flowControl, EndpointPickerMetrics? metrics = null)
{
    /// <summary>Whose status codes and messages flow-control outcomes get (llm-d adds its rejection header).</summary>
    public ConfigDialect Dialect { get; init; } = ConfigDialect.Gie;

    /// <summary>Whether the pool has any endpoint (llm-d answers a TTL expiry 503 instead of 429 when it has none).</summary>
    public Func<bool> HasEndpoints { get; init; } = static () => true;

    /// <summary>Admitters (<c>probabilistic-admitter</c>) asked before flow control; the first refusal wins.</summary>
    public IReadOnlyList<IRequestAdmitter> Admitters { get; init; } = [];

    public FlowController? FlowControl => flowControl;

    public ISaturationDetector Detector => detector;

    /// <summary>Returns null when admitted (with the priority it runs at), or the error to send.</summary>
    public ValueTask<(ImmediateError? Error, int Priority)> AdmitAsync(string fairnessId, int priority, long bodyBytes, CancellationToken cancellationToken, TimeSpan sloTtft = default) =>
        AdmitAsync(new RequestMetricLabels(string.Empty, string.Empty, fairnessId, Telemetry.Labels.MetricLabels.Priority(priority)), priority, bodyBytes, cancellationToken, sloTtft);

    /// <summary>As the other overload, with the request's metric labels (its fairness id among them).</summary>
    public async ValueTask<(ImmediateError? Error, int Priority)> AdmitAsync(RequestMetricLabels request, int priority, long bodyBytes, CancellationToken cancellationToken, TimeSpan sloTtft = default)
    {
        foreach (var admitter in Admitters)
        {
            if (admitter.Admit(priority) is { } refused)
            {
                return (refused, priority);
            }
        }

        if (flowControl is null)
        {
            return priority < 0 && detector.GetSaturation() >= 1.0 ? (EndpointPickerErrors.Shed, priority) : (null, priority);
        }

        var bytes = Math.Max(0, bodyBytes);
        metrics?.FlowControlHeld(request, bytes, 1);
        FlowControlResult result;
        try
        {
            var started = Stopwatch.GetTimestamp();
            var pending = flowControl.EnqueueAndWaitAsync(new FlowControlRequest(request.FairnessId, priority, bodyBytes, SloTtft: sloTtft), cancellationToken);
            var enqueueSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (pending.IsCompleted)
            {
                // Decided while enqueueing (a rejection, mostly); a pooled source's result is read once.
                result = pending.Result;
                metrics?.FlowControlEnqueued(request, OutcomeName(result.Outcome), enqueueSeconds);
            }
            else
            {
                metrics?.FlowControlEnqueued(request, "NotYetFinalized", enqueueSeconds);
                result = await pending.ConfigureAwait(false);
            }
        }
        finally
        {
            metrics?.FlowControlHeld(request, bytes, -1);
        }

        metrics?.FlowControlFinished(request, OutcomeName(result.Outcome), result.QueueTime.TotalSeconds);
        if (Dialect == ConfigDialect.LlmD)
        {
            return (LlmDErrors.Translate(result.Outcome, HasEndpoints), result.EffectivePriority);
        }

        return result.Outcome switch
        {
            FlowControlOutcome.Dispatched => (null, result.EffectivePriority),
            FlowControlOutcome.RejectedCapacity => (EndpointPickerErrors.QueueFull, result.EffectivePriority),
            FlowControlOutcome.EvictedTtl => (EndpointPickerErrors.QueueTtl, result.EffectivePriority),
            FlowControlOutcome.EvictedCancelled => (EndpointPickerErrors.ClientGone, result.EffectivePriority),
            _ => (EndpointPickerErrors.QueueUnavailable, result.EffectivePriority),
        };
    }

    /// <summary>Go's <c>QueueOutcome</c> names.</summary>
    internal static string OutcomeName(FlowControlOutcome outcome) => outcome switch
    {
        FlowControlOutcome.Dispatched => "Dispatched",
        FlowControlOutcome.RejectedCapacity => "RejectedCapacity",
        FlowControlOutcome.EvictedTtl => "EvictedTTL",
        FlowControlOutcome.EvictedCancelled => "EvictedContextCancelled",
        FlowControlOutcome.EvictedShutdown => "EvictedOther",
        _ => "RejectedOther",
    };
}
