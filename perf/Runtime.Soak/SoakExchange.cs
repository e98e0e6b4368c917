using System.Diagnostics;
using System.Text;
using Runtime.Proto.Envoy.Service.ExtProc.V3;
using Runtime.TestSupport.ExtProc;

namespace Runtime.Soak;

/// <summary>How one exchange ended.</summary>
internal enum Outcome
{
    Completed,

    /// <summary>Abandoned on purpose (the downstream client went away): the stream was reset.</summary>
    Cancelled,

    /// <summary>The picked model server was down (a restart): Envoy answers 503 itself; not the runtime's fault.</summary>
    UpstreamUnavailable,

    Failed,
}

/// <summary>What one exchange asks for: prompt, SSE or not, and where (if anywhere) it is abandoned.</summary>
internal sealed record ExchangePlan(byte[] Body, bool Stream, CancelPoint Cancel);

internal enum CancelPoint
{
    None,
    AfterRequestHeaders,
    MidRequestBody,
    MidResponseBody,
}

internal sealed record ExchangeResult(Outcome Outcome, double PickMilliseconds, double TotalMilliseconds, string? Destination, string? Error);

/// <summary>
/// One downstream request as Envoy runs it through the endpoint picker in FULL_DUPLEX_STREAMED
/// mode: request headers and body to the picker, the body it returns forwarded to the picked
/// simulator, the simulator's (SSE) response streamed back through the picker's response phase
/// as it arrives, then the half-close and the gRPC status.
/// </summary>
internal sealed class SoakExchange(EnvoyExtProcClient picker, HttpClient upstream, TimeSpan timeout)
{
    private const string DestinationHeader = "x-gateway-destination-endpoint";

    public async Task<ExchangeResult> RunAsync(ExchangePlan plan, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        double pick = 0;
        string? destination = null;
        try
        {
            await using var exchange = await picker.StartAsync(cancellationToken);
            var request = new FullDuplexPhase
            {
                Headers = ExtProcMessages.FullDuplexRequestHeaders(),
                BodyChunks = BodyChunks.SplitEvery(plan.Body, BodyChunks.GieChunkBytes),
            }.ToMessages(ExtProcDirection.Request);
            if (plan.Cancel == CancelPoint.AfterRequestHeaders)
            {
                await exchange.SendAsync(request[0], cancellationToken);
                return Cancelled(exchange, clock);
            }

            if (plan.Cancel == CancelPoint.MidRequestBody)
            {
                // Half the body (at least the headers), then the downstream client is gone.
                await exchange.SendAllAsync(request.Take(Math.Max(1, request.Count / 2)), cancellationToken);
                await exchange.SendAsync(ExtProcMessages.RequestBody("{\"partial\":"u8, endOfStream: false), cancellationToken);
                return Cancelled(exchange, clock);
            }

            await exchange.SendAllAsync(request, cancellationToken);
            var requestSide = new DirectionTranscript(ExtProcDirection.Request, bodySent: true, trailersSent: false);
            while (!requestSide.IsComplete)
            {
                var reply = await exchange.ReadAsync(timeout, cancellationToken);
                if (reply is null)
                {
                    return Failed(clock, pick, null, "the picker ended the stream before the request direction was complete: " + await StatusAsync(exchange));
                }

                if (reply.ResponseCase == ProcessingResponse.ResponseOneofCase.ImmediateResponse)
                {
                    return Failed(clock, pick, null, $"immediate response {reply.ImmediateResponse.Status?.Code}: {reply.ImmediateResponse.Body}");
                }

                requestSide.Add(reply);
            }

            pick = clock.Elapsed.TotalMilliseconds;
            if (requestSide.Violations.Count > 0)
            {
                return Failed(clock, pick, null, string.Join("; ", requestSide.Violations));
            }

            destination = requestSide.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders
                .FirstOrDefault(h => h.Header.Key == DestinationHeader)?.Header.RawValue.ToStringUtf8();
            if (string.IsNullOrEmpty(destination))
            {
                return Failed(clock, pick, null, $"no {DestinationHeader} in the request headers reply");
            }

            return await RespondAsync(exchange, plan, requestSide.StreamedBody, destination, clock, pick, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return Failed(clock, pick, destination, ex.GetType().Name + ": " + ex.Message);
        }
    }

    private async Task<ExchangeResult> RespondAsync(ExtProcExchange exchange, ExchangePlan plan, byte[] body, string destination, Stopwatch clock, double pick, CancellationToken cancellationToken)
    {
        var responseSide = new DirectionTranscript(ExtProcDirection.Response, bodySent: true, trailersSent: false);
        HttpResponseMessage upstreamResponse;
        try
        {
            using var post = new HttpRequestMessage(HttpMethod.Post, $"http://{destination}/v1/chat/completions")
            {
                Content = new ByteArrayContent(body) { Headers = { { "Content-Type", "application/json" } } },
            };
            upstreamResponse = await upstream.SendAsync(post, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            // Refused, or a pooled connection to a simulator that restarted since: Envoy would answer
            // 503 itself (or retry) and still run the response phase over its local reply.
            await exchange.SendAsync(ExtProcMessages.ResponseHeaders(503, [new("content-type", "text/plain")], endOfStream: false), cancellationToken);
            await exchange.SendAsync(ExtProcMessages.ResponseBody("upstream connect error"u8, endOfStream: true), cancellationToken);
            var (ok, error) = await FinishAsync(exchange, responseSide, "upstream connect error"u8.ToArray(), cancellationToken);
            return ok
                ? new ExchangeResult(Outcome.UpstreamUnavailable, pick, clock.Elapsed.TotalMilliseconds, destination, ex.Message)
                : Failed(clock, pick, destination, error);
        }

        using (upstreamResponse)
        {
            var contentType = upstreamResponse.Content.Headers.ContentType?.ToString() ?? "application/json";
            await exchange.SendAsync(ExtProcMessages.ResponseHeaders((int)upstreamResponse.StatusCode, [new("content-type", contentType)], endOfStream: false), cancellationToken);
            var sent = new MemoryStream();
            await using var stream = await upstreamResponse.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new byte[16 * 1024];
            var pieces = 0;
            int read;
            while ((read = await ReadUpstreamAsync(stream, buffer, cancellationToken)) > 0)
            {
                await exchange.SendAsync(ExtProcMessages.ResponseBody(buffer.AsSpan(0, read), endOfStream: false), cancellationToken);
                sent.Write(buffer, 0, read);
                if (++pieces == 2 && plan.Cancel == CancelPoint.MidResponseBody)
                {
                    return Cancelled(exchange, clock);
                }
            }

            if (read < 0)
            {
                // The simulator died mid-response (a restart): Envoy resets the downstream request and the ext_proc stream.
                exchange.Abort();
                return new ExchangeResult(Outcome.UpstreamUnavailable, pick, clock.Elapsed.TotalMilliseconds, destination, "upstream reset mid-response");
            }

            if (plan.Cancel == CancelPoint.MidResponseBody)
            {
                // The response came in fewer pieces than planned: abandon before its end instead.
                return Cancelled(exchange, clock);
            }

            await exchange.SendAsync(ExtProcMessages.ResponseBody([], endOfStream: true), cancellationToken);
            if (!upstreamResponse.IsSuccessStatusCode)
            {
                return Failed(clock, pick, destination, $"the simulator answered {(int)upstreamResponse.StatusCode}: {Encoding.UTF8.GetString(sent.ToArray())}");
            }

            var (ok, error) = await FinishAsync(exchange, responseSide, sent.ToArray(), cancellationToken);
            return ok
                ? new ExchangeResult(Outcome.Completed, pick, clock.Elapsed.TotalMilliseconds, destination, null)
                : Failed(clock, pick, destination, error);
        }
    }

    /// <summary>Collects the response direction, half-closes, and checks the bytes, the extras and the status.</summary>
    private async Task<(bool Ok, string? Error)> FinishAsync(ExtProcExchange exchange, DirectionTranscript responseSide, byte[] sent, CancellationToken cancellationToken)
    {
        while (!responseSide.IsComplete)
        {
            var reply = await exchange.ReadAsync(timeout, cancellationToken);
            if (reply is null)
            {
                return (false, "the picker ended the stream before the response direction was complete: " + await StatusAsync(exchange));
            }

            if (!responseSide.Owns(reply))
            {
                return (false, "unexpected reply in the response phase: " + ExtProcFormatting.Summarize(reply));
            }

            responseSide.Add(reply);
        }

        if (responseSide.Violations.Count > 0)
        {
            return (false, string.Join("; ", responseSide.Violations));
        }

        if (!responseSide.StreamedBody.AsSpan().SequenceEqual(sent))
        {
            return (false, $"the response body came back changed ({sent.Length} B sent, {responseSide.StreamedBody.Length} B returned)");
        }

        await exchange.CompleteAsync();
        var extra = await exchange.ReadToEndAsync(timeout, cancellationToken);
        if (extra.Count > 0)
        {
            return (false, $"{extra.Count} reply(ies) after the exchange was complete: {ExtProcFormatting.Summarize(extra[0])}");
        }

        var status = await exchange.GetStatusAsync(timeout, cancellationToken);
        return status.IsOk ? (true, null) : (false, "the call ended " + status);
    }

    /// <summary>Bytes read, 0 at the end, -1 when the upstream connection broke.</summary>
    private static async Task<int> ReadUpstreamAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        try
        {
            return await stream.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            return -1;
        }
    }

    private static ExchangeResult Cancelled(ExtProcExchange exchange, Stopwatch clock)
    {
        exchange.Abort();
        return new ExchangeResult(Outcome.Cancelled, 0, clock.Elapsed.TotalMilliseconds, null, null);
    }

    private static ExchangeResult Failed(Stopwatch clock, double pick, string? destination, string? error) =>
        new(Outcome.Failed, pick, clock.Elapsed.TotalMilliseconds, destination, error);

    private async Task<string> StatusAsync(ExtProcExchange exchange)
    {
        try
        {
            return (await exchange.GetStatusAsync(timeout)).ToString();
        }
        catch (TimeoutException)
        {
            return "no status";
        }
    }
}
