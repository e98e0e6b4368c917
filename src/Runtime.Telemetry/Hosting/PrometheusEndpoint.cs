using System.Net;
using System.Text;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Runtime.Telemetry.Prometheus;

namespace Runtime.Telemetry.Hosting;

/// <summary>
/// Serves an exporter's page as <c>GET /metrics</c> on its own HTTP/1.1 Kestrel listener (what
/// Prometheus speaks; Kestrel cannot offer cleartext HTTP/2 next to HTTP/1.1 on one port), plain
/// or over TLS, next to listeners that serve something else: connections accepted on the metrics
/// listener are tagged, and <see cref="IsMetricsRequest"/> routes on the tag. With a
/// <paramref name="gate"/>, every request on the listener must pass it first.
/// </summary>
internal sealed class PrometheusEndpoint(PrometheusExporter exporter, IMetricsRequestGate? gate = null)
{
    /// <summary>The path Prometheus scrapes.</summary>
    public const string Path = "/metrics";

    private static readonly object s_connectionTag = new();

    /// <summary>Binds the metrics listener on <paramref name="address"/>:<paramref name="port"/>; over TLS with <paramref name="https"/>.</summary>
    public static void Listen(KestrelServerOptions kestrel, IPAddress address, int port, HttpsConnectionAdapterOptions? https = null)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        kestrel.Listen(address, port, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            if (https is not null)
            {
                listen.UseHttps(https);
            }

            listen.Use(next => connection =>
            {
                connection.Items[s_connectionTag] = s_connectionTag;
                return next(connection);
            });
        });
    }

    /// <summary>Whether the request arrived on a listener bound by <see cref="Listen"/>.</summary>
    public static bool IsMetricsRequest(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(s_connectionTag) == true;

    /// <summary>
    /// <c>GET</c>/<c>HEAD</c> <c>/metrics</c> → the page; other paths 404; other methods 405; a
    /// request the gate refuses gets the gate's status and message (as Go's <c>http.Error</c> writes it).
    /// </summary>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var response = context.Response;
        if (gate is not null)
        {
            var authorization = request.Headers.Authorization;
            var refusal = await gate.CheckAsync(authorization.Count > 0 ? authorization[0] : null, request.Method, request.Path.Value ?? "/", context.RequestAborted).ConfigureAwait(false);
            if (refusal is not null)
            {
                var text = Encoding.UTF8.GetBytes(refusal.Message + "\n");
                response.StatusCode = refusal.StatusCode;
                response.ContentType = "text/plain; charset=utf-8";
                response.Headers.XContentTypeOptions = "nosniff";
                response.ContentLength = text.Length;
                await response.Body.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
                return;
            }
        }

        if (!string.Equals(request.Path.Value, Path, StringComparison.Ordinal))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "GET, HEAD";
            return;
        }

        var body = Encoding.UTF8.GetBytes(exporter.Render());
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = PrometheusExporter.ContentType;
        response.ContentLength = body.Length;
        if (HttpMethods.IsGet(request.Method))
        {
            await response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
        }
    }
}
