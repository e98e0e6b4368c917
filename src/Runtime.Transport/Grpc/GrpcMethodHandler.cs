namespace Runtime.Transport.Grpc;

/// <summary>
/// Handles one call. Returning normally ends the call with status OK; throwing
/// <see cref="GrpcException"/> ends it with that status.
/// </summary>
public delegate Task GrpcMethodHandler(GrpcCall call);
