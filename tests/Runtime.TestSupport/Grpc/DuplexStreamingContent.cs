using System.Net;

namespace Runtime.TestSupport.Grpc;

/// <summary>
/// Request content that stays open: the handler hands over its request stream when it
/// starts sending the body, callers write to it at will, and <see cref="Complete"/> ends
/// the body (END_STREAM). Length is unknown, so no content-length is sent, as gRPC clients do.
/// </summary>
internal sealed class DuplexStreamingContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the handler has started the request body.</summary>
    public Task<Stream> RequestStream => _stream.Task;

    public bool IsCompleted => _completed.Task.IsCompleted;

    public void Complete() => _completed.TrySetResult();

    public void Fail(Exception error)
    {
        _stream.TrySetException(error);
        _completed.TrySetException(error);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        _stream.TrySetResult(stream);
        await _completed.Task.WaitAsync(cancellationToken);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _stream.TrySetException(new ObjectDisposedException(nameof(DuplexStreamingContent)));
            _completed.TrySetResult();
        }

        base.Dispose(disposing);
    }
}
