using Runtime.Proto.Envoy.Service.ExtProc.V3;
using Runtime.TestSupport.Grpc;

namespace Runtime.TestSupport.ExtProc;

/// <summary>Whole exchanges driven the way Envoy drives them in each body mode.</summary>
public static class ExtProcScenarios
{
    /// <summary>
    /// FULL_DUPLEX_STREAMED as Envoy does it: sends the request headers, every body chunk and
    /// the trailers without waiting for any reply, collects replies until the request
    /// direction is complete, then (if given) does the same for the response phase on the
    /// same stream, half-closes and reads the status. Never throws for rule violations: they
    /// are in <see cref="FullDuplexResult.Violations"/> (call <see cref="FullDuplexResult.EnsureValid"/>).
    /// </summary>
    /// <exception cref="TimeoutException">The server stopped answering; the message holds the transcript so far.</exception>
    public static async Task<FullDuplexResult> RunFullDuplexAsync(
        this EnvoyExtProcClient client,
        FullDuplexPhase request,
        FullDuplexPhase? response = null,
        TimeSpan? timeout = null,
        int maxChunkBytes = BodyChunks.GieChunkBytes,
        CancellationToken cancellationToken = default)
    {
        var state = new FullDuplexState(
            new DirectionTranscript(ExtProcDirection.Request, request.HasBody, request.HasTrailers, maxChunkBytes),
            response is null ? null : new DirectionTranscript(ExtProcDirection.Response, response.HasBody, response.HasTrailers, maxChunkBytes));

        await using var exchange = await client.StartAsync(cancellationToken);
        try
        {
            await state.SendAsync(exchange, request.ToMessages(ExtProcDirection.Request), cancellationToken);
            await state.CollectUntilAsync(exchange, state.Request, timeout, cancellationToken);
            if (response is not null && state.Immediate is null && state.Request.IsComplete && !state.Ended)
            {
                await state.SendAsync(exchange, response.ToMessages(ExtProcDirection.Response), cancellationToken);
                await state.CollectUntilAsync(exchange, state.Response!, timeout, cancellationToken);
            }

            await exchange.CompleteAsync();
            foreach (var extra in await exchange.ReadToEndAsync(timeout, cancellationToken))
            {
                state.All.Add(extra);
                state.Other.Add($"Unexpected response after the exchange was complete: {ExtProcFormatting.Summarize(extra)}.");
            }

            var status = await exchange.GetStatusAsync(timeout, cancellationToken);
            return new FullDuplexResult(state.All, state.Request, state.Response, state.Immediate, state.Other, status);
        }
        catch (TimeoutException ex)
        {
            var partial = new FullDuplexResult(state.All, state.Request, state.Response, state.Immediate, state.Other,
                new GrpcCallStatus(null, null, null, GrpcStatusSource.Missing, ex));
            throw new TimeoutException($"{ex.Message}{Environment.NewLine}Transcript so far:{Environment.NewLine}{partial.Describe()}", ex);
        }
    }

    /// <summary>
    /// BUFFERED as Envoy does it: request headers, wait for their reply, the whole body in one
    /// message, wait for its reply; then the same for the response phase when given. The
    /// headers' end_of_stream is set from whether a body follows.
    /// </summary>
    public static async Task<BufferedResult> RunBufferedAsync(
        this EnvoyExtProcClient client,
        ProcessingRequest requestHeaders,
        ReadOnlyMemory<byte>? requestBody,
        ProcessingRequest? responseHeaders = null,
        ReadOnlyMemory<byte>? responseBody = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        await using var exchange = await client.StartAsync(cancellationToken);
        var replies = new ProcessingResponse?[4];
        var steps = new (ProcessingRequest Headers, ReadOnlyMemory<byte>? Body)?[]
        {
            (requestHeaders, requestBody),
            responseHeaders is null ? null : (responseHeaders, responseBody),
        };

        ImmediateResponse? immediate = null;
        for (var phase = 0; phase < steps.Length && immediate is null; phase++)
        {
            if (steps[phase] is not { } step)
            {
                continue;
            }

            var headers = step.Headers.Clone();
            var http = (phase == 0 ? headers.RequestHeaders : headers.ResponseHeaders)
                ?? throw new ArgumentException($"Phase {phase} must start with {(phase == 0 ? "request" : "response")}_headers, not {headers.RequestCase}.");
            http.EndOfStream = step.Body is null;
            await exchange.SendAsync(headers, cancellationToken);
            replies[phase * 2] = await exchange.ReadRequiredAsync(timeout, cancellationToken);
            immediate = replies[phase * 2]!.ImmediateResponse;
            if (immediate is not null || step.Body is not { } body)
            {
                continue;
            }

            await exchange.SendAsync(phase == 0
                ? ExtProcMessages.RequestBody(body.Span, endOfStream: true)
                : ExtProcMessages.ResponseBody(body.Span, endOfStream: true), cancellationToken);
            replies[(phase * 2) + 1] = await exchange.ReadRequiredAsync(timeout, cancellationToken);
            immediate = replies[(phase * 2) + 1]!.ImmediateResponse;
        }

        await exchange.CompleteAsync();
        var unexpected = await exchange.ReadToEndAsync(timeout, cancellationToken);
        var status = await exchange.GetStatusAsync(timeout, cancellationToken);
        return new BufferedResult(replies[0]!, replies[1], replies[2], replies[3], immediate, unexpected, status);
    }

    private sealed class FullDuplexState(DirectionTranscript request, DirectionTranscript? response)
    {
        public DirectionTranscript Request { get; } = request;

        public DirectionTranscript? Response { get; } = response;

        public List<ProcessingResponse> All { get; } = [];

        public List<string> Other { get; } = [];

        public ImmediateResponse? Immediate { get; private set; }

        public bool Ended { get; private set; }

        public async Task SendAsync(ExtProcExchange exchange, IReadOnlyList<ProcessingRequest> messages, CancellationToken cancellationToken)
        {
            for (var i = 0; i < messages.Count; i++)
            {
                try
                {
                    await exchange.SendAsync(messages[i], cancellationToken);
                }
                catch (GrpcCallEndedException ex)
                {
                    // Closing the stream mid-body loses data in Envoy; report it, keep the transcript.
                    Other.Add($"Server ended the stream before message {i + 1} of {messages.Count} ({messages[i].RequestCase}) was sent: {ex.Status}.");
                    return;
                }
            }
        }

        public async Task CollectUntilAsync(ExtProcExchange exchange, DirectionTranscript target, TimeSpan? timeout, CancellationToken cancellationToken)
        {
            while (!target.IsComplete && Immediate is null && !Ended)
            {
                var next = await exchange.ReadAsync(timeout, cancellationToken);
                if (next is null)
                {
                    Ended = true;
                    Other.Add($"Server ended the stream before the {target.Direction} direction was complete.");
                    return;
                }

                All.Add(next);
                if (next.ResponseCase == ProcessingResponse.ResponseOneofCase.ImmediateResponse)
                {
                    Immediate = next.ImmediateResponse;
                }
                else if (Request.Owns(next))
                {
                    if (Response is { Responses.Count: > 0 })
                    {
                        Other.Add($"Request-direction response after response-direction ones: {ExtProcFormatting.Summarize(next)}.");
                    }

                    Request.Add(next);
                }
                else if (Response is not null && Response.Owns(next))
                {
                    Response.Add(next);
                }
                else
                {
                    Other.Add($"Response for a phase that was never sent: {ExtProcFormatting.Summarize(next)}.");
                }
            }
        }
    }
}

/// <summary>The replies of a BUFFERED exchange, one per message sent, in order.</summary>
public sealed record BufferedResult(
    ProcessingResponse RequestHeaders,
    ProcessingResponse? RequestBody,
    ProcessingResponse? ResponseHeaders,
    ProcessingResponse? ResponseBody,
    ImmediateResponse? ImmediateResponse,
    IReadOnlyList<ProcessingResponse> Unexpected,
    GrpcCallStatus Status);
