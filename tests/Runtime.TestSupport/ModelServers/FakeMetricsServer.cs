using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Runtime.TestSupport.ModelServers;

/// <summary>
/// Model servers' <c>/metrics</c> endpoints on real loopback ports: one Kestrel app listening on
/// <c>count</c> ports, each port one "model server" whose page, status and hanging can be changed
/// while it runs.
/// </summary>
public sealed class FakeMetricsServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Dictionary<int, Server> _byPort;

    private FakeMetricsServer(WebApplication app, Server[] servers)
    {
        _app = app;
        Servers = servers;
        _byPort = servers.ToDictionary(s => s.Port);
    }

    public IReadOnlyList<Server> Servers { get; }

    public static async Task<FakeMetricsServer> StartAsync(int count, Func<int, byte[]> page)
    {
        ArgumentNullException.ThrowIfNull(page);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options =>
        {
            for (var i = 0; i < count; i++)
            {
                options.Listen(IPAddress.Loopback, 0);
            }
        });

        var app = builder.Build();
        FakeMetricsServer? self = null;
        app.Run(context => self!.HandleAsync(context));
        await app.StartAsync().ConfigureAwait(false);
        var ports = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => new Uri(a).Port)
            .ToArray();
        var servers = ports.Select((port, i) => new Server(port) { Page = page(i) }).ToArray();
        self = new FakeMetricsServer(app, servers);
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private async Task HandleAsync(HttpContext context)
    {
        var server = _byPort[context.Connection.LocalPort];
        server.CountRequest();
        if (server.Hang)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            return;
        }

        if (server.StatusCode != StatusCodes.Status200OK)
        {
            context.Response.StatusCode = server.StatusCode;
            return;
        }

        var page = server.Page;
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        if (server.Chunked)
        {
            // No Content-Length: the reader cannot tell the size up front and must stop at its own cap.
            for (var offset = 0; offset < page.Length; offset += 64 * 1024)
            {
                await context.Response.Body.WriteAsync(page.AsMemory(offset, Math.Min(64 * 1024, page.Length - offset)), context.RequestAborted).ConfigureAwait(false);
            }

            return;
        }

        context.Response.ContentLength = page.Length;
        await context.Response.Body.WriteAsync(page, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>One model server: its port and what it answers (changeable while it runs).</summary>
    public sealed class Server(int port)
    {
        private int _requests;
        private byte[] _page = [];
        private int _statusCode = StatusCodes.Status200OK;
        private int _hang;

        public int Port { get; } = port;

        public int Requests => Volatile.Read(ref _requests);

        public byte[] Page
        {
            get => Volatile.Read(ref _page);
            set => Volatile.Write(ref _page, value);
        }

        public int StatusCode
        {
            get => Volatile.Read(ref _statusCode);
            set => Volatile.Write(ref _statusCode, value);
        }

        /// <summary>Accept requests and never answer them.</summary>
        public bool Hang
        {
            get => Volatile.Read(ref _hang) != 0;
            set => Volatile.Write(ref _hang, value ? 1 : 0);
        }

        /// <summary>Send the page chunked, without Content-Length.</summary>
        public bool Chunked { get; set; }

        internal void CountRequest() => Interlocked.Increment(ref _requests);
    }
}
