using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;

namespace Runtime.Transport.Grpc;

/// <summary>
/// Grpc.AspNetCore set up for our listeners: message size limits from
/// <see cref="GrpcServerOptions"/>, no detailed errors, unknown services and methods answered
/// UNIMPLEMENTED (by the library, and by <see cref="MapUnimplementedFallback"/> for paths
/// that are not <c>/service/method</c> at all).
/// </summary>
public static class GrpcHosting
{
    private static readonly StringValues s_grpcContentType = new("application/grpc");
    private static readonly StringValues s_unimplemented = new("12");
    private static readonly StringValues s_internal = new("13");

    public static IServiceCollection AddRuntimeGrpc(this IServiceCollection services, GrpcServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.AddGrpc(grpc => Apply(grpc, options));
        return services;
    }

    internal static void Apply(GrpcServiceOptions grpc, GrpcServerOptions options)
    {
        grpc.MaxReceiveMessageSize = options.MaxReceiveMessageSize;
        grpc.MaxSendMessageSize = null;
        grpc.EnableDetailedErrors = false;
        grpc.IgnoreUnknownServices = false;
        grpc.ResponseCompressionAlgorithm = null;
    }

    /// <summary>
    /// Any request no gRPC endpoint matched (e.g. <c>POST /</c>): a gRPC request gets a
    /// trailers-only UNIMPLEMENTED, anything else HTTP 415 — never a bare 404 a gRPC client
    /// cannot read.
    /// </summary>
    public static IEndpointConventionBuilder MapUnimplementedFallback(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapFallback(static context =>
        {
            var response = context.Response;
            if (!IsGrpcContentType(context.Request.ContentType))
            {
                response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
                response.Headers["grpc-status"] = s_internal;
                response.Headers["grpc-message"] = "Content-Type must be application/grpc.";
                return Task.CompletedTask;
            }

            response.ContentType = s_grpcContentType;
            response.Headers["grpc-status"] = s_unimplemented;
            response.Headers["grpc-message"] = "Method is unimplemented.";
            return Task.CompletedTask;
        });

    private static bool IsGrpcContentType(string? contentType) =>
        contentType is not null
        && contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase)
        && (contentType.Length == 16 || contentType[16] is '+' or ';');
}
