using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.AspNetCore.Http;
using Runtime.Telemetry.Hosting;
using Runtime.Telemetry.Prometheus;

namespace Runtime.Telemetry.Tests.Hosting;

public sealed class PrometheusEndpointTests
{
    private static async Task<(HttpContext Context, string Body)> RequestAsync(string method, string path, IMetricsRequestGate? gate = null, string? authorization = null)
    {
        using var exporter = new PrometheusExporter(new PrometheusExporterOptions { MeterFilter = static (Meter _) => false });
        using var gauge = exporter.AddCollector("up", "Up.", PrometheusMetricType.Gauge, w => w.Add(1));
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        if (authorization is not null)
        {
            context.Request.Headers.Authorization = authorization;
        }

        var body = new MemoryStream();
        context.Response.Body = body;

        await new PrometheusEndpoint(exporter, gate).HandleAsync(context);

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

    [Fact]
    public async Task HandleAsync_GateRefuses_AnswersWithItsStatusAndMessageAsGoHttpError()
    {
        var gate = new RecordingGate(new MetricsRefusal(403, "Authorization denied for user alice"));

        var (context, body) = await RequestAsync("GET", "/metrics", gate, "Bearer t");

        Assert.Equal(403, context.Response.StatusCode);
        Assert.Equal("text/plain; charset=utf-8", context.Response.ContentType);
        Assert.Equal("nosniff", context.Response.Headers.XContentTypeOptions.ToString());
        Assert.Equal("Authorization denied for user alice\n", body);
        Assert.Equal(("Bearer t", "GET", "/metrics"), gate.Seen.Single());
    }

    [Fact]
    public async Task HandleAsync_GateSeesEveryPath_RefusalBeforeNotFound()
    {
        var gate = new RecordingGate(new MetricsRefusal(401, "Unauthorized"));

        var (context, body) = await RequestAsync("GET", "/other", gate);

        Assert.Equal(401, context.Response.StatusCode);
        Assert.Equal("Unauthorized\n", body);
        Assert.Equal((null, "GET", "/other"), gate.Seen.Single());
    }

    [Fact]
    public async Task HandleAsync_GateAllows_ServesThePage()
    {
        var (context, body) = await RequestAsync("GET", "/metrics", new RecordingGate(null), "Bearer t");

        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal("# HELP up Up.\n# TYPE up gauge\nup 1\n", body);
    }

    private sealed class RecordingGate(MetricsRefusal? answer) : IMetricsRequestGate
    {
        public List<(string? Authorization, string Method, string Path)> Seen { get; } = [];

        public ValueTask<MetricsRefusal?> CheckAsync(string? authorization, string method, string path, CancellationToken cancellationToken)
        {
            Seen.Add((authorization, method, path));
            return ValueTask.FromResult(answer);
        }
    }
}
