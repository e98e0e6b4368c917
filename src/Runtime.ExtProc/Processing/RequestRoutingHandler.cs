using System.Buffers;
using System.Runtime.CompilerServices;
using Runtime.ExtProc.Codec;
using Runtime.ExtProc.Stream;

namespace Runtime.ExtProc.Processing;

/// <summary>
/// The ext_proc skeleton shared by the routers that decide on the request body (the endpoint
/// picker, the body-based router). It gathers the body the way each body mode delivers it and
/// calls <see cref="OnRequestReadyAsync"/> exactly once, when the decision can be made:
/// <list type="bullet">
/// <item>BUFFERED / BUFFERED_PARTIAL: on the one body message (no copy);</item>
/// <item>FULL_DUPLEX_STREAMED: at the body's end (end_of_stream chunk or trailers) — the headers
/// reply is held until then, so routing headers can still apply;</item>
/// <item>no body, or STREAMED/NONE (the body cannot hold the headers back): on the headers, when
/// <see cref="DecidesWithoutBody"/>; otherwise the request passes through unchanged.</item>
/// </list>
/// <see cref="SendDecisionAsync"/> then sends the reply on the right message and, in full duplex,
/// the body after it in streamed pieces.
/// </summary>
internal abstract class RequestRoutingHandler : ExtProcStreamHandler
{
    private static readonly ImmediateError BodyBudgetExceeded = new(429, "request body buffers are full (--max-buffered-body-bytes); retry later");

    /// <summary>Set once <see cref="OnRequestReadyAsync"/> ran for this request.</summary>
    protected bool Decided { get; private set; }

    /// <summary>
    /// Whether a request whose body will not be seen whole is still decided (on its headers): the
    /// picker must pick an endpoint for every request; the body-based router has nothing to read.
    /// </summary>
    protected abstract bool DecidesWithoutBody { get; }

    /// <summary>
    /// The request can be decided: <paramref name="body"/> is all of it (empty when
    /// <paramref name="hasBody"/> is false). Reply with <see cref="BeginDecision"/> and
    /// <see cref="SendDecisionAsync"/>, or <see cref="RejectAsync"/>.
    /// </summary>
    protected abstract ValueTask OnRequestReadyAsync(ExtProcStream stream, ReadOnlySequence<byte> body, bool hasBody);

    /// <summary>Clears per-request state before the handler goes back to its pool.</summary>
    public virtual void Reset() => Decided = false;

    public override ValueTask OnRequestHeadersAsync(ExtProcStream stream)
    {
        if (stream.Message.EndOfStream || stream.RequestBodyMode is BodySendMode.None or BodySendMode.Streamed)
        {
            return DecidesWithoutBody ? DecideAsync(stream, default, hasBody: false) : stream.ContinueAsync();
        }

        // Full duplex: the headers reply waits for the body. Buffered: Envoy sends the body next.
        return stream.RequestBodyMode == BodySendMode.FullDuplexStreamed ? ValueTask.CompletedTask : stream.ContinueAsync();
    }

    public override ValueTask OnRequestBodyAsync(ExtProcStream stream)
    {
        if (Decided || stream.RequestBodyMode is not (BodySendMode.Buffered or BodySendMode.BufferedPartial or BodySendMode.FullDuplexStreamed))
        {
            // Decided on the headers (STREAMED), or nothing to decide: the body passes through.
            return stream.ContinueAsync();
        }

        if (stream.RequestBodyMode != BodySendMode.FullDuplexStreamed)
        {
            // One message holds all the body Envoy will show us.
            return DecideAsync(stream, stream.Message.Body, hasBody: true);
        }

        if (stream.Message.EndOfStream && stream.RequestBody.IsEmpty)
        {
            // The whole body came in one chunk: no copy.
            return DecideAsync(stream, stream.Message.Body, hasBody: true);
        }

        if (!stream.RequestBody.TryAppend(stream.Message.Body))
        {
            return RefuseBodyAsync(stream);
        }

        return stream.Message.EndOfStream ? DecideAsync(stream, stream.RequestBody.AsSequence(), hasBody: true) : ValueTask.CompletedTask;
    }

    public override async ValueTask OnRequestTrailersAsync(ExtProcStream stream)
    {
        // Trailers end a full-duplex body that had no end_of_stream chunk.
        if (!Decided && stream.RequestBodyMode == BodySendMode.FullDuplexStreamed)
        {
            await DecideAsync(stream, stream.RequestBody.AsSequence(), hasBody: !stream.RequestBody.IsEmpty).ConfigureAwait(false);
            if (stream.IsFinished)
            {
                return;
            }
        }

        await stream.ContinueAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Starts the decision's reply: on the body message when Envoy is waiting for a body reply
    /// (BUFFERED), otherwise on the headers message (header mutations still apply there).
    /// </summary>
    protected static ProcessingResponseBuilder BeginDecision(ExtProcStream stream, bool hasBody) =>
        stream.BeginResponse(RepliesOnBody(stream, hasBody) ? ProcessingResponseKind.RequestBody : ProcessingResponseKind.RequestHeaders);

    /// <summary>
    /// Sends the reply begun by <see cref="BeginDecision"/>. <paramref name="outgoing"/> is the body
    /// upstream gets: when <paramref name="bodyChanged"/> it replaces the body on a BUFFERED reply;
    /// in full duplex it follows the headers reply in streamed pieces either way.
    /// </summary>
    protected static async ValueTask SendDecisionAsync(ExtProcStream stream, ProcessingResponseBuilder reply, bool hasBody, ReadOnlySequence<byte> outgoing, bool bodyChanged)
    {
        if (bodyChanged && RepliesOnBody(stream, hasBody))
        {
            reply.SetBody(outgoing);
        }

        await stream.SendAsync().ConfigureAwait(false);
        if (hasBody && stream.RequestBodyMode == BodySendMode.FullDuplexStreamed)
        {
            await stream.SendStreamedBodyAsync(ExtProcDirection.Request, outgoing, endOfStream: true).ConfigureAwait(false);
        }
    }

    /// <summary>Ends the request with an immediate response, unless the stream is already over.</summary>
    protected static ValueTask RejectAsync(ExtProcStream stream, ImmediateError error) =>
        stream.IsFinished || stream.Cancelled.IsCancellationRequested
            ? ValueTask.CompletedTask
            : stream.SendImmediateResponseAsync(error.HttpStatus, error.Body, error.Details, error.HeaderName, error.HeaderValue);

    /// <summary>The body would pass the process's buffered-bytes ceiling: 429, and its buffers go back now.</summary>
    private ValueTask RefuseBodyAsync(ExtProcStream stream)
    {
        Decided = true;
        stream.RequestBody.Budget.CountRejection();
        stream.RequestBody.Reset();
        return RejectAsync(stream, BodyBudgetExceeded);
    }

    private static bool RepliesOnBody(ExtProcStream stream, bool hasBody) =>
        hasBody && stream.RequestBodyMode is BodySendMode.Buffered or BodySendMode.BufferedPartial;

    private ValueTask DecideAsync(ExtProcStream stream, ReadOnlySequence<byte> body, bool hasBody)
    {
        Decided = true;
        var decided = OnRequestReadyAsync(stream, body, hasBody);
        if (!decided.IsCompletedSuccessfully)
        {
            return ReleaseBodyAfterAsync(stream, decided);
        }

        decided.GetAwaiter().GetResult();
        stream.RequestBody.Reset();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Once the decision and the body it forwards are in the response pipe, the gathered body goes
    /// back to the pool and out of the buffered-bytes budget: the stream itself lives on for the
    /// whole upstream response, which for a generation can take minutes.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask ReleaseBodyAfterAsync(ExtProcStream stream, ValueTask decided)
    {
        await decided.ConfigureAwait(false);
        stream.RequestBody.Reset();
    }
}
