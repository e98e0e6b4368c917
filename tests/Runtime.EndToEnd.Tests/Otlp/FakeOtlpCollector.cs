using System.Collections.Concurrent;
using System.Net;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Runtime.EndToEnd.Tests.Otlp;

/// <summary>One exported span with what the tests check about it.</summary>
internal sealed record ExportedSpan(string ServiceName, string Scope, Span Span)
{
    public string TraceId => Convert.ToHexStringLower(Span.TraceId.Span);

    public string SpanId => Convert.ToHexStringLower(Span.SpanId.Span);

    public string ParentSpanId => Convert.ToHexStringLower(Span.ParentSpanId.Span);

    public string? Attribute(string key) => Span.Attributes.FirstOrDefault(a => a.Key == key)?.Value is { } v
        ? v.ValueCase switch
        {
            AnyValue.ValueOneofCase.StringValue => v.StringValue,
            AnyValue.ValueOneofCase.IntValue => v.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            AnyValue.ValueOneofCase.BoolValue => v.BoolValue ? "true" : "false",
            _ => v.ToString(),
        }
        : null;
}

/// <summary>
/// An OTLP/gRPC trace collector on a free 127.0.0.1 port (cleartext HTTP/2, as
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT=http://…</c> means): records every span it is sent.
/// </summary>
internal sealed class FakeOtlpCollector : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ExportedSpan> _spans;

    private FakeOtlpCollector(WebApplication app, ConcurrentQueue<ExportedSpan> spans, int port)
    {
        _app = app;
        _spans = spans;
        Endpoint = $"http://127.0.0.1:{port}";
    }

    /// <summary>The value for <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>.</summary>
    public string Endpoint { get; }

    public IReadOnlyList<ExportedSpan> Spans => [.. _spans];

    public static async Task<FakeOtlpCollector> StartAsync()
    {
        var port = TestPorts.GetFreeTcpPort();
        var spans = new ConcurrentQueue<ExportedSpan>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(new TraceServiceImpl(spans));
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        app.MapGrpcService<TraceServiceImpl>();
        await app.StartAsync();
        return new FakeOtlpCollector(app, spans, port);
    }

    /// <summary>Waits until spans matching <paramref name="match"/> number at least <paramref name="count"/>; returns them.</summary>
    public async Task<IReadOnlyList<ExportedSpan>> WaitForAsync(Func<ExportedSpan, bool> match, int count = 1, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var found = _spans.Where(match).ToList();
            if (found.Count >= count)
            {
                return found;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"{found.Count} matching spans of {count} after the timeout; received: {Describe()}");
            }

            await Task.Delay(50);
        }
    }

    public string Describe() => _spans.IsEmpty ? "none" : string.Join("; ", _spans.Select(s => $"{s.ServiceName}/{s.Scope}/{s.Span.Name} trace {s.TraceId}"));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class TraceServiceImpl(ConcurrentQueue<ExportedSpan> spans) : TraceService.TraceServiceBase
    {
        public override Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
        {
            foreach (var resource in request.ResourceSpans)
            {
                var service = resource.Resource?.Attributes.FirstOrDefault(a => a.Key == "service.name")?.Value?.StringValue ?? string.Empty;
                foreach (var scope in resource.ScopeSpans)
                {
                    foreach (var span in scope.Spans)
                    {
                        spans.Enqueue(new ExportedSpan(service, scope.Scope?.Name ?? string.Empty, span));
                    }
                }
            }

            return Task.FromResult(new ExportTraceServiceResponse());
        }
    }
}
