namespace Runtime.Transport.Grpc;

/// <summary>
/// Ends a call with a gRPC status. Thrown only on error paths; the dispatcher turns it into
/// <c>grpc-status</c>/<c>grpc-message</c> trailers (or a trailers-only response).
/// </summary>
public sealed class GrpcException : Exception
{
    public GrpcException(GrpcStatusCode status, string message)
        : base(message)
    {
        Status = status;
    }

    public GrpcException()
        : this(GrpcStatusCode.Unknown, "Unknown error.")
    {
    }

    public GrpcException(string message)
        : this(GrpcStatusCode.Unknown, message)
    {
    }

    public GrpcException(string message, Exception innerException)
        : base(message, innerException)
    {
        Status = GrpcStatusCode.Unknown;
    }

    public GrpcStatusCode Status { get; }
}
