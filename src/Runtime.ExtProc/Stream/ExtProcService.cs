using System.IO.Pipelines;
using Grpc.Core;
using Microsoft.Extensions.ObjectPool;
using Runtime.ExtProc.Codec;

namespace Runtime.ExtProc.Stream;

/// <summary>
/// One listener's <c>envoy.service.ext_proc.v3.ExternalProcessor/Process</c>: one call per HTTP
/// request; reads messages as they arrive and runs them through a pooled <see cref="ExtProcStream"/>.
/// Served through <see cref="ExternalProcessorService"/>, which finds the listener's instance.
/// Disposing it (after the server stopped) returns the storage its pooled streams keep.
/// </summary>
internal sealed class ExtProcService : IDisposable
{
    public const string ProcessPath = "/envoy.service.ext_proc.v3.ExternalProcessor/Process";

    private readonly IExtProcProcessor _processor;
    private readonly ExtProcOptions _options;
    // Disposable items: a stream the full pool turns away, and every pooled one when the service
    // is disposed, returns its storage to the buffer pools instead of leaving it to the GC.
    private readonly ObjectPool<ExtProcStream> _streams =
        new DefaultObjectPoolProvider { MaximumRetained = 1024 }.Create(new DefaultPooledObjectPolicy<ExtProcStream>());

    private readonly ObjectPool<PipeRequestMessages> _pipeReaders =
        new DefaultObjectPoolProvider { MaximumRetained = 1024 }.Create(new DefaultPooledObjectPolicy<PipeRequestMessages>());

    private int _activeStreams;

    public ExtProcService(IExtProcProcessor processor, ExtProcOptions options)
    {
        _processor = processor;
        _options = options;
    }

    /// <summary>Streams open right now (each holds one pooled <see cref="ExtProcStream"/>).</summary>
    public int ActiveStreams => Volatile.Read(ref _activeStreams);

    /// <summary>Gives back the pooled streams' storage, and the processor's (it lives as long as its service).</summary>
    public void Dispose()
    {
        (_streams as IDisposable)?.Dispose();
        (_processor as IDisposable)?.Dispose();
    }

    /// <summary>Serves a call from Grpc.AspNetCore's reader (a compressed call; tests that script one).</summary>
    public Task ProcessAsync(IAsyncStreamReader<ExtProcPayload> requests, IServerStreamWriter<ProcessingResponseBuilder> responses, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requests);
        return ProcessAsync(new GrpcReaderMessages(requests), responses, context);
    }

    /// <summary>Serves a call by reading its messages straight off the request body pipe.</summary>
    public async Task ProcessAsync(PipeReader requestBody, int maxMessageSize, IServerStreamWriter<ProcessingResponseBuilder> responses, ServerCallContext context)
    {
        var messages = _pipeReaders.Get();
        messages.Start(requestBody, maxMessageSize);
        try
        {
            await ProcessAsync(messages, responses, context).ConfigureAwait(false);
        }
        finally
        {
            messages.Stop();
            _pipeReaders.Return(messages);
        }
    }

    private async Task ProcessAsync(RequestMessages requests, IServerStreamWriter<ProcessingResponseBuilder> responses, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Interlocked.Increment(ref _activeStreams);
        var metrics = _options.StreamMetrics;
        var startedAt = metrics?.Started() ?? 0;
        var code = StatusCode.OK;
        var stream = _streams.Get();
        var handler = _processor.RentHandler();
        stream.Start(responses, handler, _options, context.CancellationToken);
        var aborted = true;
        try
        {
            while (!stream.IsFinished && await requests.MoveNextAsync().ConfigureAwait(false))
            {
                try
                {
                    await stream.DispatchAsync(requests.Current).ConfigureAwait(false);
                }
                finally
                {
                    requests.Release();
                }

                await stream.CompletePendingFlushAsync().ConfigureAwait(false);
            }

            aborted = false;
        }
        catch (Exception ex)
        {
            await stream.SettlePendingFlushAsync().ConfigureAwait(false);
            code = StatusOf(ex, context);
            stream.NoteFailure(ex);
            if (code == StatusCode.Internal && ex is not RpcException)
            {
                // A processor crash: the one log line (ExternalProcessorService) names the request.
                ex.Data[RequestIdKey] = RequestIdOf(stream);
            }

            throw;
        }
        finally
        {
            stream.End(aborted);
            _processor.ReturnHandler(handler);
            stream.Reset();
            _streams.Return(stream);
            Interlocked.Decrement(ref _activeStreams);
            metrics?.Finished(startedAt, code);
        }
    }

    /// <summary>Where a crashed call's <c>x-request-id</c> travels to the log line (Exception.Data).</summary>
    internal const string RequestIdKey = "x-request-id";

    /// <summary>The request's <c>x-request-id</c> as Envoy sent it, or "-" before request headers or without one.</summary>
    private static string RequestIdOf(ExtProcStream stream) =>
        stream.RequestHeaders.TryGetValue("x-request-id"u8, out var id) && !id.IsEmpty
            ? System.Text.Encoding.UTF8.GetString(id[..Math.Min(id.Length, 128)])
            : "-";

    /// <summary>
    /// The status the call ends with: an RpcException's own; a reset, a passed deadline or a
    /// shutdown cancels it; anything else is a processor crash (INTERNAL, see <see cref="ExternalProcessorService"/>).
    /// </summary>
    private static StatusCode StatusOf(Exception exception, ServerCallContext context) => exception switch
    {
        // A passed deadline aborts the request reader too, which reads as a cancelled stream: check it first.
        RpcException rpc when rpc.StatusCode != StatusCode.Cancelled => rpc.StatusCode,
        _ when context.Deadline <= DateTime.UtcNow => StatusCode.DeadlineExceeded,
        RpcException rpc => rpc.StatusCode,
        OperationCanceledException or IOException => StatusCode.Cancelled,
        _ when context.CancellationToken.IsCancellationRequested => StatusCode.Cancelled,
        _ => StatusCode.Internal,
    };
}
