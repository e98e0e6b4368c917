using Google.Protobuf;
using Runtime.Proto.Grpc.Health.V1;

namespace Runtime.TestSupport.Grpc;

/// <summary>A <c>grpc.health.v1.Health</c> client over cleartext HTTP/2.</summary>
public sealed class GrpcHealthClient : IDisposable
{
    public const string CheckPath = "/grpc.health.v1.Health/Check";
    public const string WatchPath = "/grpc.health.v1.Health/Watch";
    public const string ListPath = "/grpc.health.v1.Health/List";

    private readonly HttpMessageInvoker _invoker;
    private readonly bool _disposeInvoker;

    public GrpcHealthClient(Uri address)
        : this(address, new HttpMessageInvoker(GrpcHttp.CreateHandler()), disposeInvoker: true)
    {
    }

    public GrpcHealthClient(Uri address, HttpMessageInvoker invoker, bool disposeInvoker = false)
    {
        Address = address;
        _invoker = invoker;
        _disposeInvoker = disposeInvoker;
    }

    public Uri Address { get; }

    /// <summary>Unary Check; <see cref="GrpcUnaryResult{T}.Response"/> is null when the status is not OK.</summary>
    public async Task<GrpcUnaryResult<HealthCheckResponse>> CheckAsync(string service, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        await using var call = await GrpcDuplexCall.StartAsync(_invoker, new Uri(Address, CheckPath), cancellationToken: cancellationToken);
        await call.SendMessageAsync(new HealthCheckRequest { Service = service }, cancellationToken);
        await call.CompleteRequestAsync();
        var frame = await call.ReadFrameAsync(timeout, cancellationToken);
        var status = await call.GetStatusAsync(timeout, cancellationToken);
        var response = frame is { } f ? HealthCheckResponse.Parser.ParseFrom(f.Payload.Span) : null;
        return new GrpcUnaryResult<HealthCheckResponse>(response, status);
    }

    /// <summary>Unary List; <see cref="GrpcUnaryResult{T}.Response"/> is null when the status is not OK.</summary>
    public async Task<GrpcUnaryResult<HealthListResponse>> ListAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        await using var call = await GrpcDuplexCall.StartAsync(_invoker, new Uri(Address, ListPath), cancellationToken: cancellationToken);
        await call.SendMessageAsync(new HealthListRequest(), cancellationToken);
        await call.CompleteRequestAsync();
        var frame = await call.ReadFrameAsync(timeout, cancellationToken);
        var status = await call.GetStatusAsync(timeout, cancellationToken);
        var response = frame is { } f ? HealthListResponse.Parser.ParseFrom(f.Payload.Span) : null;
        return new GrpcUnaryResult<HealthListResponse>(response, status);
    }

    /// <summary>Starts a server-streaming Watch; read updates from the returned watch.</summary>
    public async Task<HealthWatch> WatchAsync(string service, CancellationToken cancellationToken = default)
    {
        var call = await GrpcDuplexCall.StartAsync(_invoker, new Uri(Address, WatchPath), cancellationToken: cancellationToken);
        await call.SendMessageAsync(new HealthCheckRequest { Service = service }, cancellationToken);
        await call.CompleteRequestAsync();
        return new HealthWatch(call);
    }

    public void Dispose()
    {
        if (_disposeInvoker)
        {
            _invoker.Dispose();
        }
    }
}

/// <summary>A running Health/Watch stream.</summary>
public sealed class HealthWatch(GrpcDuplexCall call) : IAsyncDisposable
{
    public GrpcDuplexCall Call { get; } = call;

    /// <summary>The next status update, or null once the server ended the stream.</summary>
    public async Task<HealthCheckResponse?> ReadAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        await Call.ReadFrameAsync(timeout, cancellationToken) is { } frame
            ? HealthCheckResponse.Parser.ParseFrom(frame.Payload.Span)
            : null;

    public ValueTask DisposeAsync() => Call.DisposeAsync();
}

/// <summary>The single response of a unary call (null unless the server sent one) and how the call ended.</summary>
public sealed record GrpcUnaryResult<T>(T? Response, GrpcCallStatus Status)
    where T : class, IMessage<T>;
