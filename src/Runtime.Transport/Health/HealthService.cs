using Grpc.Core;
using Runtime.Transport.Hosting;

namespace Runtime.Transport.Health;

/// <summary>
/// <c>grpc.health.v1.Health</c>: Check, Watch and List over the <see cref="HealthState"/> of the
/// listener the call arrived on (a listener without one answers UNIMPLEMENTED).
/// </summary>
/// <remarks>
/// Watch streams every change of the watched name's status until the client leaves, or sends the
/// NOT_SERVING of shutdown and ends. Upstream's EPP and BBR answer Watch with UNIMPLEMENTED;
/// streaming real changes is what the health protocol describes and what a client that watches
/// (grpc-go's client-side health checking, Envoy's gRPC health checker does Check) can use.
/// </remarks>
internal sealed class HealthService : HealthBase
{
    private static readonly Task<HealthCheckResponse>[] s_checkResults =
    [
        Task.FromResult(HealthCheckResponse.For(ServingStatus.Unknown)),
        Task.FromResult(HealthCheckResponse.For(ServingStatus.Serving)),
        Task.FromResult(HealthCheckResponse.For(ServingStatus.NotServing)),
        Task.FromResult(HealthCheckResponse.For(ServingStatus.ServiceUnknown)),
    ];

    public override Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var state = ListenerServices.Require<HealthState>(context);
        return state.Check(request.Service) is { } status
            ? s_checkResults[(int)status]
            : throw new RpcException(new Status(StatusCode.NotFound, "unknown service"));
    }

    public override async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var state = ListenerServices.Require<HealthState>(context);
        ServingStatus? sent = null;
        while (true)
        {
            // Take the signal before reading the status so no change can slip between them.
            var changed = state.WaitForChangeAsync(context.CancellationToken);
            var status = state.Check(request.Service) ?? ServingStatus.ServiceUnknown;
            if (status != sent)
            {
                await responseStream.WriteAsync(HealthCheckResponse.For(status)).ConfigureAwait(false);
                sent = status;
            }

            if (state.IsShuttingDown)
            {
                return;
            }

            await changed.ConfigureAwait(false);
        }
    }

    public override Task<HealthListResponse> List(HealthListRequest request, ServerCallContext context)
    {
        var state = ListenerServices.Require<HealthState>(context);
        return Task.FromResult(new HealthListResponse { Statuses = state.List() });
    }
}
