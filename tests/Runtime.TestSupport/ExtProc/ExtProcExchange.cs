using Runtime.Proto.Envoy.Service.ExtProc.V3;
using Runtime.TestSupport.Grpc;

namespace Runtime.TestSupport.ExtProc;

/// <summary>
/// One ext_proc Process stream, full duplex: send requests at any time, read responses as
/// they arrive. Disposing an exchange the server has not finished resets the stream, so
/// the server sees RST_STREAM exactly as when Envoy abandons a downstream request.
/// </summary>
public sealed class ExtProcExchange : IAsyncDisposable
{
    private readonly TimeSpan _defaultTimeout;

    internal ExtProcExchange(GrpcDuplexCall call, TimeSpan defaultTimeout)
    {
        Call = call;
        _defaultTimeout = defaultTimeout;
    }

    /// <summary>The underlying call, for raw writes and wire-level details.</summary>
    public GrpcDuplexCall Call { get; }

    /// <summary>Sends one ProcessingRequest and flushes it to the wire.</summary>
    public Task SendAsync(ProcessingRequest request, CancellationToken cancellationToken = default) =>
        Call.SendMessageAsync(request, cancellationToken);

    /// <summary>Sends several requests back to back without waiting for any response.</summary>
    public async Task SendAllAsync(IEnumerable<ProcessingRequest> requests, CancellationToken cancellationToken = default)
    {
        foreach (var request in requests)
        {
            await SendAsync(request, cancellationToken);
        }
    }

    /// <summary>The next response, or null once the server has ended the stream.</summary>
    /// <exception cref="TimeoutException">Nothing arrived within the timeout.</exception>
    public async Task<ProcessingResponse?> ReadAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        if (await Call.ReadFrameAsync(timeout ?? _defaultTimeout, cancellationToken) is not { } frame)
        {
            return null;
        }

        if (frame.IsCompressed)
        {
            throw new InvalidDataException($"Response message has compressed flag {frame.Flag}; the client asked for none.");
        }

        return ProcessingResponse.Parser.ParseFrom(frame.Payload.Span);
    }

    /// <summary>The next response; fails with the call's status if the server ended the stream instead.</summary>
    public async Task<ProcessingResponse> ReadRequiredAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        if (await ReadAsync(timeout, cancellationToken) is { } response)
        {
            return response;
        }

        var status = await GetStatusAsync(timeout, cancellationToken);
        throw new InvalidOperationException($"Expected a ProcessingResponse but the server ended the stream: {status}");
    }

    /// <summary>Reads every remaining response until the server ends the stream.</summary>
    public async Task<IReadOnlyList<ProcessingResponse>> ReadToEndAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var responses = new List<ProcessingResponse>();
        while (await ReadAsync(timeout, cancellationToken) is { } response)
        {
            responses.Add(response);
        }

        return responses;
    }

    /// <summary>Half-closes the stream (END_STREAM), as Envoy does when the HTTP request is done.</summary>
    public Task CompleteAsync() => Call.CompleteRequestAsync();

    /// <summary>Waits for the server to end the stream and returns its gRPC status.</summary>
    public Task<GrpcCallStatus> GetStatusAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Call.GetStatusAsync(timeout ?? _defaultTimeout, cancellationToken);

    /// <summary>Resets the stream now (RST_STREAM), mid-body or anywhere else.</summary>
    public void Abort() => Call.Abort();

    public ValueTask DisposeAsync() => Call.DisposeAsync();
}
