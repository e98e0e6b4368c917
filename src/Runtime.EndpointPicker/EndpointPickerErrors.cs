using Runtime.ExtProc.Processing;

namespace Runtime.EndpointPicker;

/// <summary>
/// Why the picker refuses a request, with GIE v1.5.0's status and message for each
/// (pkg/epp/requestcontrol: director.go, admission.go; flowcontrol/types/errors.go).
/// </summary>
internal static class EndpointPickerErrors
{
    public static readonly ImmediateError NoEndpoints = new(503, "failed to find endpoint candidates for serving the request");

    /// <summary>The gateway's subset hint names no endpoint of the pool (Go: no candidates left).</summary>
    public static readonly ImmediateError EmptySubset = new(503, "failed to find endpoint candidates for serving the request: the subset hint lists no endpoint of the pool");

    public static readonly ImmediateError AllFiltered = new(429, "failed to find target endpoint: no endpoint passed the scheduling profile's filters");

    public static readonly ImmediateError Shed = new(429, "system saturated, sheddable request dropped");

    public static readonly ImmediateError QueueFull = new(429, "request rejected pre-queue: queue at capacity");

    public static readonly ImmediateError QueueTtl = new(503, "request timed out in queue: request evicted from queue: request TTL expired");

    public static readonly ImmediateError ClientGone = new(503, "client disconnected: request evicted from queue: request context cancelled");

    public static readonly ImmediateError QueueUnavailable = new(500, "internal flow control error: request rejected pre-queue");
}
