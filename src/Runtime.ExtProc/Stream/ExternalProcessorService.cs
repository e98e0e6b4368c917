using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Logging;
using Runtime.ExtProc.Codec;
using Runtime.Primitives.Diagnostics;
using Runtime.Transport.Hosting;

namespace Runtime.ExtProc.Stream;

/// <summary>
/// The Grpc.AspNetCore service of ext_proc: runs each call on the <see cref="ExtProcService"/>
/// of the listener it arrived on (UNIMPLEMENTED on a listener without one, e.g. the health port),
/// reading its messages straight off the request body unless the call is compressed.
/// A processor that crashes ends the call INTERNAL with a generic message and one log line that
/// names the request (its <c>x-request-id</c>). After
/// the client went away no status can reach it: a crash then is logged with the call's context and
/// counted in <c>runtime_swallowed_errors_total{component="ext_proc",kind="after_client_abort"}</c>;
/// cancellation and I/O errors there are the abort itself and stay quiet.
/// </summary>
internal sealed partial class ExternalProcessorService : ExternalProcessorBase
{
    private const string GrpcEncodingHeader = "grpc-encoding";

    private readonly ILogger _logger;
    private readonly int _maxReceiveMessageSize;

    public ExternalProcessorService(ILogger<ExternalProcessorService> logger, IOptions<GrpcServiceOptions> grpc)
    {
        ArgumentNullException.ThrowIfNull(grpc);
        _logger = logger;
        _maxReceiveMessageSize = grpc.Value.MaxReceiveMessageSize ?? int.MaxValue;
    }

    public override async Task Process(IAsyncStreamReader<ExtProcPayload> requestStream, IServerStreamWriter<ProcessingResponseBuilder> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var service = ListenerServices.Require<ExtProcService>(context);
        try
        {
            var http = context.GetHttpContext();
            if (http.Request.Headers.ContainsKey(GrpcEncodingHeader))
            {
                // Grpc.AspNetCore decompresses (or refuses) what the call says it compressed.
                await service.ProcessAsync(requestStream, responseStream, context).ConfigureAwait(false);
            }
            else
            {
                await service.ProcessAsync(http.Request.BodyReader, _maxReceiveMessageSize, responseStream, context).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not RpcException and not OperationCanceledException and not IOException)
        {
            if (context.CancellationToken.IsCancellationRequested)
            {
                SwallowedErrors.Report(_logger, LogLevel.Warning, "ext_proc", "after_client_abort",
                    $"{context.Method} from {context.Peer} threw after the client went away ({service.ActiveStreams} streams open)", ex);
                return;
            }

            Log.ProcessorCrashed(_logger, ex.Data[ExtProcService.RequestIdKey] as string ?? "-", ex);
            throw new RpcException(new Status(StatusCode.Internal, "Internal server error."));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1201, LogLevel.Error, "ext_proc call failed in the processor (x-request-id {RequestId}); answered INTERNAL")]
        public static partial void ProcessorCrashed(ILogger logger, string requestId, Exception exception);
    }
}
