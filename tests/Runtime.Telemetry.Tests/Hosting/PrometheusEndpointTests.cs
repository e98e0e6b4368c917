using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.AspNetCore.Http;
using Runtime.Telemetry.Hosting;
using Runtime.Telemetry.Prometheus;

namespace Runtime.Telemetry.Tests.Hosting;

public sealed class PrometheusEndpointTests
{
    private static async Task<(HttpContext Context, string Body)> RequestAsync(string method, string path)
    {
        using var exporter = new PrometheusExporter(new PrometheusExporterOptions { MeterFilter = static (Meter _) => false });
        using var gauge = exporter.AddCollector("up", "Up.", PrometheusMetricType.Gauge, w => w.Add(1));
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        var body = new MemoryStream();
        context.Response.Body = body;

        await new PrometheusEndpoint(exporter).HandleAsync(context);

        return (context, Encoding.UTF8.GetString(body.ToArray()));
    }

    [Fact]
    public async Task HandleAsync_GetMetrics_ServesThePageAsTextFormat004()
    {
        var (context, body) = await RequestAsync("GET", "/metrics");

        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", context.Response.ContentType);
        Assert.Equal("# HELP up Up.\n# TYPE up gauge\nup 1\n", body);
        Assert.Equal(body.Length, context.Response.ContentLength);
    }

    [Fact]
    public async Task HandleAsync_Head_HeadersWithoutBody()
    {
        var (context, body) = await RequestAsync("HEAD", "/metrics");

        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal(string.Empty, body);
    }

    [Fact]
    public async Task HandleAsync_OtherPath_NotFound()
    {
        var (context, body) = await RequestAsync("GET", "/metrics/extra");

        Assert.Equal(404, context.Response.StatusCode);
        Assert.Equal(string.Empty, body);
    }

    [Fact]
    public async Task HandleAsync_Post_MethodNotAllowed()
    {
        var (context, _) = await RequestAsync("POST", "/metrics");

        Assert.Equal(405, context.Response.StatusCode);
        Assert.Equal("GET, HEAD", context.Response.Headers.Allow.ToString());
    }
}
