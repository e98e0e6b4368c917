using System.Diagnostics;
using System.Text;
using Runtime.ExtProc.Codec;

namespace Runtime.ExtProc.Stream;

/// <summary>
/// The request's span (<see cref="ExtProcTracing"/>): every hook is a null check when the listener
/// has no tracing or the request is not sampled.
/// </summary>
internal sealed partial class ExtProcStream
{
    private static readonly byte[] s_traceParentHeader = "traceparent"u8.ToArray();
    private static readonly byte[] s_statusHeader = ":status"u8.ToArray();

    private Activity? _span;
    private Activity? _childSpan;

    /// <summary>This request's <c>gateway.request</c> span; null when it is not traced.</summary>
    public Activity? RequestSpan => _span;

    /// <summary>The innermost open span of this request (a child from <see cref="StartChildSpan"/>, else the request's); null when not traced.</summary>
    public Activity? CurrentSpan => _childSpan is { IsStopped: false } child ? child : _span;

    /// <summary>
    /// Starts a child of the request span (Go's <c>gateway.request_orchestration</c>, say); null
    /// when the request is not traced. Dispose it to end it.
    /// </summary>
    public Activity? StartChildSpan(string name, ActivityKind kind = ActivityKind.Internal)
    {
        if (_span is null)
        {
            return null;
        }

        _childSpan = _options.Tracing!.StartChild(_span, name, kind);
        return _childSpan;
    }

    private void StartRequestSpan() => _span = _options.Tracing?.StartRequest(RequestHeaders);

    /// <summary>The reply to the request headers carries the span's context to the model server.</summary>
    private void PropagateRequestSpan()
    {
        if (_options.Tracing!.PropagateUpstream)
        {
            Span<byte> traceParent = stackalloc byte[ExtProcTracing.TraceParentLength];
            ExtProcTracing.FormatTraceParent(_span!, traceParent);
            Response.SetHeader(s_traceParentHeader, traceParent);
        }
    }

    /// <summary>An upstream answer other than 200 marks the span failed, as llm-d does (<c>ModelServerError</c>).</summary>
    private void NoteUpstreamStatus()
    {
        if (ResponseHeaders.TryGetValue(s_statusHeader, out var status) && !status.SequenceEqual("200"u8))
        {
            SetSpanError("ModelServerError");
        }
    }

    /// <summary>A local reply instead of the upstream's is a failed request: the span says why (GIE's <c>inference error: …</c>).</summary>
    private void NoteImmediateResponse(ReadOnlySpan<byte> body, ReadOnlySpan<byte> details) =>
        SetSpanError(Encoding.UTF8.GetString(body.IsEmpty ? details : body));

    /// <summary>The stream ended with an error (a protocol violation, a processor crash, a reset).</summary>
    internal void NoteFailure(Exception exception)
    {
        if (_span is not null)
        {
            SetSpanError(exception.Message);
        }
    }

    private void SetSpanError(string description)
    {
        if (_childSpan is { IsStopped: false } child)
        {
            child.SetStatus(ActivityStatusCode.Error, description);
        }

        _span!.SetStatus(ActivityStatusCode.Error, description);
    }

    private void EndSpans()
    {
        if (_span is null)
        {
            return;
        }

        _childSpan?.Stop();
        _childSpan = null;
        _span.Stop();
        _span = null;
    }
}
