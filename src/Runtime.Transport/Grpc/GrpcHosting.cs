using System.Collections.Frozen;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;

namespace Runtime.Transport.Grpc;

/// <summary>
/// Grpc.AspNetCore set up for our listeners: message size limits from
/// <see cref="GrpcServerOptions"/>, no detailed errors, and calls dispatched by exact
/// <c>:path</c> to the library's method handlers (<see cref="RunGrpcServices"/>).
/// </summary>
internal static class GrpcHosting
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
        grpc.MaxSendMessageSize = options.MaxSendMessageSize;
        grpc.EnableDetailedErrors = false;
        grpc.ResponseCompressionAlgorithm = null;

        // Unknown services and methods are answered by RunGrpcServices' fallback instead.
        grpc.IgnoreUnknownServices = true;
    }

    /// <summary>
    /// Serves the gRPC services that <paramref name="map"/> maps (<c>MapGrpcService&lt;T&gt;()</c>) as
    /// the terminal middleware of <paramref name="app"/>. gRPC paths are exact
    /// (<c>/package.Service/Method</c>), so instead of endpoint routing's general matcher each
    /// call is looked up in a frozen dictionary and handed to Grpc.AspNetCore's handler for that
    /// method. The services are singletons resolved from the root provider: no DI scope per call.
    /// Anything else gets UNIMPLEMENTED (a gRPC request), 415 (another content type) or 405 (not POST).
    /// </summary>
    public static void RunGrpcServices(this IApplicationBuilder app, Action<IEndpointRouteBuilder> map)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(map);
        var collector = new EndpointCollector(app);
        map(collector);

        var table = new Dictionary<string, Endpoint>(StringComparer.Ordinal);
        foreach (var source in collector.DataSources)
        {
            foreach (var endpoint in source.Endpoints)
            {
                if (endpoint is RouteEndpoint { RequestDelegate: not null } route
                    && route.RoutePattern is { Parameters.Count: 0, RawText: { } raw })
                {
                    table["/" + raw.TrimStart('/')] = route;
                }
            }
        }

        var methods = table.ToFrozenDictionary(StringComparer.Ordinal);
        var services = app.ApplicationServices;
        app.Run(context =>
        {
            var request = context.Request;
            if (methods.TryGetValue(request.Path.Value ?? string.Empty, out var endpoint) && HttpMethods.IsPost(request.Method))
            {
                context.SetEndpoint(endpoint);
                context.RequestServices = services;
                return endpoint.RequestDelegate!(context);
            }

            return AnswerUnknownAsync(context);
        });
    }

    private static Task AnswerUnknownAsync(HttpContext context)
    {
        var response = context.Response;
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return Task.CompletedTask;
        }

        if (!IsGrpcContentType(context.Request.ContentType))
        {
            // PROTOCOL-HTTP2.md: a non-gRPC content type gets HTTP 415.
            response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            response.Headers["grpc-status"] = s_internal;
            response.Headers["grpc-message"] = "Content-Type must be application/grpc.";
            return Task.CompletedTask;
        }

        // Trailers-only: Kestrel sends these headers with END_STREAM since there is no body.
        response.ContentType = s_grpcContentType;
        response.Headers["grpc-status"] = s_unimplemented;
        response.Headers["grpc-message"] = "Method is unimplemented.";
        return Task.CompletedTask;
    }

    private static bool IsGrpcContentType(string? contentType) =>
        contentType is not null
        && contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase)
        && (contentType.Length == 16 || contentType[16] is '+' or ';');

    /// <summary>Collects the endpoints Grpc.AspNetCore maps, without putting them in the app's routing.</summary>
    private sealed class EndpointCollector(IApplicationBuilder app) : IEndpointRouteBuilder
    {
        public IServiceProvider ServiceProvider => app.ApplicationServices;

        public ICollection<EndpointDataSource> DataSources { get; } = new List<EndpointDataSource>();

        public IApplicationBuilder CreateApplicationBuilder() => app.New();
    }
}
