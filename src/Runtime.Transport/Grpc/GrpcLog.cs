using Microsoft.Extensions.Logging;

namespace Runtime.Transport.Grpc;

internal static partial class GrpcLog
{
    [LoggerMessage(1001, LogLevel.Debug, "{Listener}: unknown gRPC method {Path}")]
    public static partial void UnknownMethod(ILogger logger, string listener, string path);

    [LoggerMessage(1002, LogLevel.Debug, "{Listener}: call {Path} aborted by the client ({Reason})")]
    public static partial void CallAborted(ILogger logger, string listener, string path, string reason);

    [LoggerMessage(1003, LogLevel.Information, "{Listener}: call {Path} ended with grpc-status {Status}: {Message}")]
    public static partial void CallFailed(ILogger logger, string listener, string path, int status, string message);

    [LoggerMessage(1004, LogLevel.Error, "{Listener}: handler of {Path} failed")]
    public static partial void HandlerCrashed(ILogger logger, string listener, string path, Exception exception);
}
