using Runtime.ExtProc.Processing;
using Runtime.FlowControl;

namespace Runtime.EndpointPicker.Admission;

/// <summary>
/// llm-d v0.10's answers to flow-control outcomes (pkg/epp/requestcontrol/admission.go): 429 means capacity
/// exists but is contended, 503 that none exists; each refusal names its reason in the
/// <c>x-llm-d-request-dropped-reason</c> response header. A TTL expiry is 429 while the pool has
/// endpoints and 503 when it has none.
/// </summary>
internal static class LlmDErrors
{
    public const string DroppedReasonHeader = "x-llm-d-request-dropped-reason";

    public static readonly ImmediateError Saturated = new(429, "request rejected pre-queue: queue at capacity", DroppedReasonHeader, "rejected-saturated");

    public static readonly ImmediateError TtlExpired = new(429, "request timed out in queue: request evicted from queue: request TTL expired", DroppedReasonHeader, "rejected-ttl-expired");

    public static readonly ImmediateError TtlNoEndpoints = new(503, "request timed out in queue and no endpoints are available: request evicted from queue: request TTL expired", DroppedReasonHeader, "rejected-no-endpoints");

    public static readonly ImmediateError ContextCancelled = new(503, "client disconnected: request evicted from queue: request context cancelled", DroppedReasonHeader, "rejected-context-cancelled");

    public static readonly ImmediateError ShuttingDown = new(503, "flow controller shutting down: request rejected by flow control", DroppedReasonHeader, "rejected-shutting-down");

    public static readonly ImmediateError Other = new(500, "internal flow control error: request rejected by flow control");

    public static ImmediateError? Translate(FlowControlOutcome outcome, Func<bool> hasEndpoints) => outcome switch
    {
        FlowControlOutcome.Dispatched => null,
        FlowControlOutcome.RejectedCapacity => Saturated,
        FlowControlOutcome.EvictedTtl => hasEndpoints() ? TtlExpired : TtlNoEndpoints,
        FlowControlOutcome.EvictedCancelled => ContextCancelled,
        FlowControlOutcome.EvictedShutdown or FlowControlOutcome.RejectedShutdown => ShuttingDown,
        _ => Other,
    };
}
