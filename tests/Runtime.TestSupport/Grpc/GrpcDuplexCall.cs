using System.Threading.Channels;
using Google.Protobuf;

namespace Runtime.TestSupport.Grpc;

/// <summary>
/// One gRPC call on its own HTTP/2 stream, full duplex: request frames are written and
/// flushed as soon as they are sent, response frames are read by a background pump as
/// they arrive, so a caller can wait for a response while its request is still open.
/// Disposing (or <see cref="Abort"/>) a call that has not finished resets the stream
/// (RST_STREAM), as Envoy does when a downstream request is cancelled.
/// </summary>
public sealed class GrpcDuplexCall : IAsyncDisposable
{
    public const int DefaultMaxResponseMessageBytes = 64 * 1024 * 1024;

    private static readonly TimeSpan s_defaultTimeout = TimeSpan.FromSeconds(10);

    private readonly DuplexStreamingContent _content;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly Channel<GrpcFrame> _frames = Channel.CreateUnbounded<GrpcFrame>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly TaskCompletionSource<GrpcCallStatus> _status = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<HttpResponseMessage> _responseHeaders = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _maxResponseMessageBytes;
    private Task<HttpResponseMessage>? _send;
    private HttpResponseMessage? _response;
    private int _aborted;
    private volatile bool _requestCompletedByClient;

    private GrpcDuplexCall(Uri address, int maxResponseMessageBytes)
    {
        Address = address;
        _content = new DuplexStreamingContent();
        _maxResponseMessageBytes = maxResponseMessageBytes;
    }

    public Uri Address { get; }

    /// <summary>True once the request side has been ended with END_STREAM.</summary>
    public bool RequestCompleted => _requestCompletedByClient;

    /// <summary>Completes with the response headers; faults if none arrived.</summary>
    public Task<HttpResponseMessage> ResponseHeaders => _responseHeaders.Task;

    /// <summary>Completes when the server has ended the response (trailers, reset or failure).</summary>
    public Task<GrpcCallStatus> Completion => _status.Task;

    /// <summary>
    /// Opens the HTTP/2 stream and returns once the request body can be written (the
    /// HEADERS frame is on its way); it does not wait for response headers.
    /// </summary>
    /// <param name="invoker">An invoker over a handler from <see cref="GrpcHttp.CreateHandler"/>, or any HTTP/2 capable handler.</param>
    /// <param name="address">The full URI including the method path.</param>
    /// <param name="headers">Extra request headers (grpc-timeout, grpc-encoding, a replacement content-type...).</param>
    public static async Task<GrpcDuplexCall> StartAsync(
        HttpMessageInvoker invoker,
        Uri address,
        IEnumerable<KeyValuePair<string, string>>? headers = null,
        int maxResponseMessageBytes = DefaultMaxResponseMessageBytes,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(invoker);
        ArgumentNullException.ThrowIfNull(address);

        var call = new GrpcDuplexCall(address, maxResponseMessageBytes);
        var request = GrpcHttp.CreateRequest(address, call._content, headers);
        call._send = GrpcHttp.SendAsync(invoker, request, call._lifetime.Token);
        _ = call.PumpAsync();

        using var registration = cancellationToken.Register(static state => ((GrpcDuplexCall)state!).Abort(), call);

        // The handler starts the body right after HEADERS; if the server answers first (a
        // trailers-only error) or the connection fails, the send task finishes instead.
        await Task.WhenAny(call._content.RequestStream, call._status.Task);
        if (!call._content.RequestStream.IsCompletedSuccessfully
            && call._status.Task.Result is { HttpStatus: null, TransportError: { } error })
        {
            await call.DisposeAsync();
            if (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("Starting the call was cancelled.", error, cancellationToken);
            }

            throw new HttpRequestException($"Could not open a gRPC call to {address}: {error.Message}", error);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            await call.DisposeAsync();
            cancellationToken.ThrowIfCancellationRequested();
        }

        return call;
    }

    /// <summary>Writes one well-formed, uncompressed message and flushes it.</summary>
    public Task SendMessageAsync(IMessage message, CancellationToken cancellationToken = default) =>
        SendRawAsync(GrpcFraming.Encode(message), cancellationToken);

    /// <summary>Writes raw bytes (well-formed or not) to the request body and flushes them.</summary>
    /// <exception cref="GrpcCallEndedException">The server ended the call before the bytes could be written.</exception>
    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _aborted) != 0, this);
        if (_requestCompletedByClient)
        {
            throw new InvalidOperationException("The request side of this call has already been completed.");
        }

        if (_status.Task.IsCompleted)
        {
            throw new GrpcCallEndedException(await _status.Task);
        }

        await Task.WhenAny(_content.RequestStream, _status.Task).WaitAsync(cancellationToken);
        if (!_content.RequestStream.IsCompletedSuccessfully)
        {
            throw new GrpcCallEndedException(await _status.Task);
        }

        var stream = await _content.RequestStream;
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await stream.WriteAsync(bytes, cancellationToken);

            // Without the flush the handler may sit on small writes; a full duplex peer must
            // see every message now.
            await stream.FlushAsync(cancellationToken);
        }
        catch (Exception ex) when (IsWriteFailure(ex, cancellationToken))
        {
            // A failed write means the stream is gone; report how the server ended it.
            GrpcCallStatus? status = null;
            try
            {
                status = await _status.Task.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
            }
            catch (TimeoutException)
            {
                // Not ended by the server after all: surface the write failure itself.
            }

            if (status is null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex);
            }

            throw new GrpcCallEndedException(status, ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Ends the request side (DATA with END_STREAM). Idempotent.</summary>
    public async Task CompleteRequestAsync()
    {
        await _writeLock.WaitAsync();
        try
        {
            _requestCompletedByClient = true;
            _content.Complete();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Returns the next response frame, or null once the response has ended. Waiting is
    /// cancelled by the timeout only; the stream is not touched, so a timed-out read can be retried.
    /// </summary>
    /// <exception cref="TimeoutException">No frame and no end of response within <paramref name="timeout"/>.</exception>
    public async Task<GrpcFrame?> ReadFrameAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var limit = timeout ?? s_defaultTimeout;
        cts.CancelAfter(limit);
        try
        {
            while (await _frames.Reader.WaitToReadAsync(cts.Token))
            {
                if (_frames.Reader.TryRead(out var frame))
                {
                    return frame;
                }
            }

            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No response message from {Address.AbsolutePath} within {limit.TotalMilliseconds:0} ms.");
        }
    }

    /// <summary>Waits for the end of the response and returns its status (trailers, trailers-only, or the transport failure).</summary>
    /// <exception cref="TimeoutException">The server did not end the response within <paramref name="timeout"/>.</exception>
    public async Task<GrpcCallStatus> GetStatusAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var limit = timeout ?? s_defaultTimeout;
        try
        {
            return await _status.Task.WaitAsync(limit, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException(
                $"The server did not end the call {Address.AbsolutePath} within {limit.TotalMilliseconds:0} ms "
                + $"(request completed: {RequestCompleted}, unread responses: {_frames.Reader.Count}).");
        }
    }

    /// <summary>
    /// Resets the stream now (RST_STREAM CANCEL) whatever its state, like a downstream
    /// disconnect in Envoy. Idempotent.
    /// </summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        _lifetime.Cancel();
        _content.Fail(new OperationCanceledException("The call was aborted by the client."));
        _response?.Dispose();
    }

    /// <summary>Aborts the call if either side is still open, then releases it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_status.Task.IsCompleted)
        {
            Abort();
        }

        try
        {
            await _status.Task.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // The pump observes the cancellation; a stuck handler must not hang test cleanup.
        }

        _response?.Dispose();
        _content.Dispose();
        _lifetime.Dispose();
        _writeLock.Dispose();
    }

    private static bool IsWriteFailure(Exception error, CancellationToken cancellationToken) =>
        error is IOException or HttpRequestException or ObjectDisposedException
        || (error is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private async Task PumpAsync()
    {
        try
        {
            var response = await _send!;
            _response = response;
            _responseHeaders.TrySetResult(response);

            var stream = await response.Content.ReadAsStreamAsync(_lifetime.Token);
            var reader = new GrpcFrameReader(stream, _maxResponseMessageBytes);
            while (await reader.ReadAsync(_lifetime.Token) is { } frame)
            {
                _frames.Writer.TryWrite(frame);
            }

            // Trailers are only populated after the body has been read to its end.
            _status.TrySetResult(GrpcCallStatus.FromResponse(response));
        }
        catch (Exception ex)
        {
            _responseHeaders.TrySetException(ex);
            _status.TrySetResult(GrpcCallStatus.FromError(_response, ex));
        }
        finally
        {
            _frames.Writer.TryComplete();

            // Once the server has ended the call nothing more can be written; release the
            // handler's body task so the request finishes too.
            _content.Complete();
        }
    }
}

/// <summary>The server ended the call (status or reset) before the client finished writing.</summary>
public sealed class GrpcCallEndedException : Exception
{
    public GrpcCallEndedException(GrpcCallStatus status, Exception? inner = null)
        : base($"The call ended before the request was written: {status}", inner)
    {
        Status = status;
    }

    public GrpcCallStatus Status { get; }
}
