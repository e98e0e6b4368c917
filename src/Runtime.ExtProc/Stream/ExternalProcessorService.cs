using Grpc.Core;
using Microsoft.Extensions.Logging;
using Runtime.ExtProc.Codec;
using Runtime.Transport.Hosting;

namespace Runtime.ExtProc.Stream;

/// <summary>
/// The Grpc.AspNetCore service of ext_proc: runs each call on the <see cref="ExtProcService"/>
/// of the listener it arrived on (UNIMPLEMENTED on a listener without one, e.g. the health port).
/// A processor that crashes ends the call INTERNAL with a generic message and a log line.
/// </summary>
public sealed partial class ExternalProcessorService : ExternalProcessorBase
{
    private readonly ILogger _logger;

    public ExternalProcessorService(ILogger<ExternalProcessorService> logger)
    {
        _logger = logger;
    }

    public override async Task Process(IAsyncStreamReader<ExtProcPayload> requestStream, IServerStreamWriter<ProcessingResponseBuilder> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var service = ListenerServices.Require<ExtProcService>(context);
        try
        {
            await service.ProcessAsync(requestStream, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not RpcException and not OperationCanceledException and not IOException && !context.CancellationToken.IsCancellationRequested)
        {
            Log.ProcessorCrashed(_logger, ex);
            throw new RpcException(new Status(StatusCode.Internal, "Internal server error."));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1201, LogLevel.Error, "ext_proc call failed in the processor")]
        public static partial void ProcessorCrashed(ILogger logger, Exception exception);
    }
}
