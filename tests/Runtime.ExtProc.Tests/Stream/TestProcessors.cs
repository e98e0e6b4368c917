using System.Buffers;
using Runtime.ExtProc.Codec;
using Runtime.ExtProc.Stream;

namespace Runtime.ExtProc.Tests.Stream;

/// <summary>A processor whose handler is one shared instance (test handlers keep no state in fields).</summary>
internal sealed class SingleHandlerProcessor(ExtProcStreamHandler handler) : IExtProcProcessor
{
    public string Name => handler.GetType().Name;

    public ExtProcStreamHandler RentHandler() => handler;

    public void ReturnHandler(ExtProcStreamHandler returned)
    {
    }
}

/// <summary>
/// Holds the headers reply until the whole request body is in (as body-based routing does),
/// then replies headers with a mutation, then the accumulated body as streamed chunks.
/// </summary>
internal sealed class HoldUntilBodyHandler : ExtProcStreamHandler
{
    public override ValueTask OnRequestHeadersAsync(ExtProcStream stream) =>
        stream.Message.EndOfStream ? SendHeadersAsync(stream) : ValueTask.CompletedTask;

    public override async ValueTask OnRequestBodyAsync(ExtProcStream stream)
    {
        stream.RequestBody.Append(stream.Message.Body);
        if (stream.Message.EndOfStream)
        {
            await SendHeadersAsync(stream);
            await stream.SendStreamedBodyAsync(ExtProcDirection.Request, stream.RequestBody.AsSequence(), endOfStream: true);
        }
    }

    private static ValueTask SendHeadersAsync(ExtProcStream stream)
    {
        var reply = stream.BeginResponse(ProcessingResponseKind.RequestHeaders);
        reply.SetHeader("x-body-bytes"u8, System.Text.Encoding.ASCII.GetBytes(stream.RequestBody.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        reply.ClearRouteCache = true;
        return stream.SendAsync();
    }
}

/// <summary>Answers request headers with a 429 immediate response.</summary>
internal sealed class RejectingHandler : ExtProcStreamHandler
{
    public override ValueTask OnRequestHeadersAsync(ExtProcStream stream) =>
        stream.SendImmediateResponseAsync(429, "inference error: TooManyRequests - shed"u8, "shed"u8);
}

/// <summary>Breaks Envoy's ordering: replies to the body before replying to the headers.</summary>
internal sealed class OutOfOrderHandler : ExtProcStreamHandler
{
    public override ValueTask OnRequestHeadersAsync(ExtProcStream stream) => ValueTask.CompletedTask;

    public override ValueTask OnRequestBodyAsync(ExtProcStream stream) =>
        stream.SendStreamedBodyAsync(ExtProcDirection.Request, ReadOnlySequence<byte>.Empty, endOfStream: true);
}

/// <summary>Accumulates the body into pooled buffers and never answers: for cancellation and deadline tests.</summary>
internal sealed class SilentBufferingHandler : ExtProcStreamHandler
{
    public override ValueTask OnRequestHeadersAsync(ExtProcStream stream) => ValueTask.CompletedTask;

    public override ValueTask OnRequestBodyAsync(ExtProcStream stream)
    {
        stream.RequestBody.Append(stream.Message.Body);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Answers nothing until the client goes away, then throws: a processor bug that only shows after an abort.</summary>
internal sealed class ThrowsAfterAbortHandler : ExtProcStreamHandler
{
    /// <summary>Completes once the headers reached the handler.</summary>
    public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override async ValueTask OnRequestHeadersAsync(ExtProcStream stream)
    {
        Entered.TrySetResult();
        try
        {
            await Task.Delay(Timeout.Infinite, stream.Cancelled);
        }
        catch (OperationCanceledException)
        {
        }

        throw new InvalidOperationException("route table lookup failed");
    }
}
