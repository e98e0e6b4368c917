namespace Runtime.FlowControl;

/// <summary>What happened to a request that went through flow control.</summary>
public enum FlowControlOutcome
{
    /// <summary>Admitted and released to the scheduler; the request proceeds.</summary>
    Dispatched,

    /// <summary>Over a global or band limit (bytes or requests) at admission: HTTP 429.</summary>
    RejectedCapacity,

    /// <summary>Waited longer than its TTL: HTTP 503.</summary>
    EvictedTtl,

    /// <summary>The caller's token was cancelled while queued (client went away): HTTP 503.</summary>
    EvictedCancelled,

    /// <summary>Could not be admitted for another reason (e.g. no band may take it): HTTP 503.</summary>
    RejectedOther,

    /// <summary>Was queued when flow control shut down: HTTP 503.</summary>
    EvictedShutdown,

    /// <summary>Arrived after flow control shut down: HTTP 503.</summary>
    RejectedShutdown,
}

/// <summary>
/// The outcome of <see cref="FlowController.EnqueueAndWaitAsync"/> and the priority the request
/// actually ran at (the demote policy may have lowered it; callers keep this one end to end).
/// </summary>
internal readonly record struct FlowControlResult(FlowControlOutcome Outcome, int EffectivePriority, TimeSpan QueueTime)
{
    public bool IsDispatched => Outcome == FlowControlOutcome.Dispatched;
}

/// <summary>One request as flow control sees it.</summary>
/// <param name="FairnessId">Flow identity within a band (tenant, objective, ...); flows are created on first use.</param>
/// <param name="Priority">Higher is served first.</param>
/// <param name="ByteSize">Counted against byte limits (the request body size).</param>
/// <param name="Ttl">How long it may wait; <see cref="TimeSpan.Zero"/> takes the configured default.</param>
/// <param name="SloTtft">The request's time-to-first-token objective (header <c>x-slo-ttft-ms</c>), read by slo-deadline-ordering-policy; zero when absent.</param>
internal readonly record struct FlowControlRequest(string FairnessId, int Priority, long ByteSize, TimeSpan Ttl = default, TimeSpan SloTtft = default);
