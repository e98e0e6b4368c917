using Grpc.Core;

namespace Runtime.Transport.Health;

/// <summary>
/// <c>grpc.health.v1.Health</c> in the shape Grpc.Tools generates (the method descriptors and
/// <c>BindService</c>), written by hand over <see cref="HealthMessages"/>.
/// </summary>
internal static class HealthGrpc
{
    public const string ServiceName = "grpc.health.v1.Health";

    public static readonly Method<HealthCheckRequest, HealthCheckResponse> CheckMethod =
        new(MethodType.Unary, ServiceName, "Check", HealthMessages.CheckRequest, HealthMessages.CheckResponse);

    public static readonly Method<HealthCheckRequest, HealthCheckResponse> WatchMethod =
        new(MethodType.ServerStreaming, ServiceName, "Watch", HealthMessages.CheckRequest, HealthMessages.CheckResponse);

    public static readonly Method<HealthListRequest, HealthListResponse> ListMethod =
        new(MethodType.Unary, ServiceName, "List", HealthMessages.ListRequest, HealthMessages.ListResponse);

    /// <summary>Called by Grpc.AspNetCore (with a null implementation) to discover the methods.</summary>
    public static void BindService(ServiceBinderBase serviceBinder, HealthBase? serviceImpl)
    {
        ArgumentNullException.ThrowIfNull(serviceBinder);
        serviceBinder.AddMethod(CheckMethod, serviceImpl is null ? null : new UnaryServerMethod<HealthCheckRequest, HealthCheckResponse>(serviceImpl.Check));
        serviceBinder.AddMethod(WatchMethod, serviceImpl is null ? null : new ServerStreamingServerMethod<HealthCheckRequest, HealthCheckResponse>(serviceImpl.Watch));
        serviceBinder.AddMethod(ListMethod, serviceImpl is null ? null : new UnaryServerMethod<HealthListRequest, HealthListResponse>(serviceImpl.List));
    }
}

/// <summary>Base of a <c>grpc.health.v1.Health</c> implementation; unoverridden methods answer UNIMPLEMENTED.</summary>
[BindServiceMethod(typeof(HealthGrpc), nameof(HealthGrpc.BindService))]
internal abstract class HealthBase
{
    public virtual Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context) =>
        throw new RpcException(new Status(StatusCode.Unimplemented, ""));

    public virtual Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responseStream, ServerCallContext context) =>
        throw new RpcException(new Status(StatusCode.Unimplemented, ""));

    public virtual Task<HealthListResponse> List(HealthListRequest request, ServerCallContext context) =>
        throw new RpcException(new Status(StatusCode.Unimplemented, ""));
}
