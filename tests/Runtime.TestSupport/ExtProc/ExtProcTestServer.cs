using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using Runtime.ExtProc.Stream;
using Runtime.Primitives.Buffers;
using Runtime.TestSupport.Hosting;
using Runtime.Transport.Grpc;
using Runtime.Transport.Hosting;

namespace Runtime.TestSupport.ExtProc;

/// <summary>
/// The real Kestrel + gRPC layer + <see cref="ExtProcService"/> in-process, with any
/// processor, so tests can read the stream and buffer counters after each call.
/// </summary>
internal sealed class ExtProcTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _disposed;

    private ExtProcTestServer(WebApplication app, ExtProcService service, int port)
    {
        _app = app;
        Service = service;
        Address = new Uri($"http://127.0.0.1:{port}");
        Client = new EnvoyExtProcClient(Address);
    }

    public ExtProcService Service { get; }

    public Uri Address { get; }

    public EnvoyExtProcClient Client { get; }

    /// <param name="logs">Receives the server's log lines (none are kept otherwise).</param>
    public static async Task<ExtProcTestServer> StartAsync(IExtProcProcessor processor, GrpcServerOptions? grpc = null, ExtProcOptions? options = null, ILoggerProvider? logs = null)
    {
        grpc ??= new GrpcServerOptions();
        var port = TestPorts.GetFreeTcpPort();
        var service = new ExtProcService(processor, options ?? new ExtProcOptions());
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
        }
        builder.Services.AddRuntimeGrpc(grpc);
        builder.Services.AddSingleton<ExternalProcessorService>();
        builder.WebHost.ConfigureKestrel(k => KestrelGrpcSetup.Configure(
            k, grpc, [new GrpcListener(IPAddress.Loopback, port, new ListenerServices(service))]));
        var app = builder.Build();
        app.RunGrpcServices(grpc => grpc.MapGrpcService<ExternalProcessorService>());
        await app.StartAsync();
        return new ExtProcTestServer(app, service, port);
    }

    /// <summary>
    /// Waits until every stream has ended, stops the server (its pooled streams give back the
    /// storage they keep between calls), and checks that every array rented through
    /// <see cref="PooledBuffers"/> is back: the proof that a call, however it ended, leaked nothing.
    /// </summary>
    public async Task AssertNothingHeldAsync(long outstandingBefore)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Service.ActiveStreams != 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"After the call: {Service.ActiveStreams} streams still active.");
            }

            await Task.Delay(10);
        }

        await DisposeAsync();
        while (PooledBuffers.Outstanding != outstandingBefore)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"After the call: {PooledBuffers.Outstanding - outstandingBefore} pooled buffers not returned.");
            }

            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Service.Dispose();
    }
}
