using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Runtime.Simulation;

/// <summary>
/// Many simulated servers in one process: one Kestrel server with one listener per
/// simulator. A request finds its simulator by the local port of its connection, so each port
/// answers as its own server. Stopping one simulator closes only its listener.
/// </summary>
public sealed class SimulatorFarm : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly StoppableListenerFactory _listeners;
    private readonly ModelServerSimulator[] _servers;
    private readonly ListenOptions?[] _listenOptions;
    private FrozenDictionary<int, ModelServerSimulator> _byPort = FrozenDictionary<int, ModelServerSimulator>.Empty;
    private int _disposed;

    private SimulatorFarm(IReadOnlyList<SimulatorOptions> options, bool ownedByServer)
    {
        _servers = [.. options.Select(o => new ModelServerSimulator(o, this, ownedByServer))];
        _listenOptions = new ListenOptions?[options.Count];

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();

        // The host must not react to SIGTERM/Ctrl-C on its own: tests run many farms in one
        // process, and the console program decides itself when to stop.
        builder.Services.AddSingleton<IHostLifetime, ManualLifetime>();
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            for (var i = 0; i < options.Count; i++)
            {
                var index = i;
                kestrel.Listen(IPAddress.Loopback, options[i].Port, listen =>
                {
                    // Cleartext Http1AndHttp2 serves HTTP/1.1 (no ALPN), which is what scrapers use.
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    _listenOptions[index] = listen;
                });
            }
        });

        // Registered last, so Kestrel binds through it (it tries transport factories in reverse order).
        _listeners = new StoppableListenerFactory();
        builder.Services.AddSingleton<IConnectionListenerFactory>(services =>
        {
            _listeners.Inner = new SocketTransportFactory(
                services.GetRequiredService<IOptions<SocketTransportOptions>>(),
                services.GetRequiredService<ILoggerFactory>());
            return _listeners;
        });

        _app = builder.Build();
        _app.Run(HandleAsync);
    }

    public IReadOnlyList<ModelServerSimulator> Servers => _servers;

    public int Count => _servers.Length;

    public ModelServerSimulator this[int index] => _servers[index];

    /// <summary>
    /// Waits until every running simulator has served <paramref name="scrapes"/> more metrics pages
    /// (so a scraper has seen their current overrides), then a moment for the last one to be published.
    /// </summary>
    public async Task WaitForScrapesAsync(int scrapes, TimeSpan timeout)
    {
        var live = _servers.Where(s => !s.IsStopped).ToList();
        var start = live.Select(s => s.MetricsRequests).ToList();
        var deadline = DateTime.UtcNow + timeout;
        while (live.Select((s, i) => s.MetricsRequests - start[i]).Any(n => n < scrapes))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the simulators were not scraped {scrapes} more times within {timeout}");
            }

            await Task.Delay(20).ConfigureAwait(false);
        }

        await Task.Delay(100).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts <paramref name="count"/> servers from <paramref name="template"/>: ports
    /// <c>template.Port + i</c> (all ephemeral when it is 0), names <c>template.Name-i</c>
    /// (or <c>sim-&lt;port&gt;</c> when it has no name).
    /// </summary>
    public static Task<SimulatorFarm> StartAsync(int count, SimulatorOptions template, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var options = Enumerable.Range(0, count)
            .Select(i => template with
            {
                Port = template.Port == 0 ? 0 : template.Port + (i * template.DataParallelSize),
                Name = template.Name is null ? null : $"{template.Name}-{i}",
            })
            .ToArray();
        return StartCoreAsync(options, ownedByServer: false, cancellationToken);
    }

    public static Task<SimulatorFarm> StartAsync(IEnumerable<SimulatorOptions> servers, CancellationToken cancellationToken = default) =>
        StartCoreAsync([.. servers], ownedByServer: false, cancellationToken);

    /// <summary>Stops every server and the Kestrel server.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var server in _servers)
        {
            server.CancelInFlight();
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    internal static async Task<SimulatorFarm> StartCoreAsync(IReadOnlyList<SimulatorOptions> options, bool ownedByServer, CancellationToken cancellationToken)
    {
        if (options.Count == 0)
        {
            throw new ArgumentException("At least one server is needed.", nameof(options));
        }

        options = [.. options.SelectMany(Ranks)];

        foreach (var option in options)
        {
            option.Validate();
        }

        var farm = new SimulatorFarm(options, ownedByServer);
        try
        {
            await farm._app.StartAsync(cancellationToken);
            var byPort = new Dictionary<int, ModelServerSimulator>();
            for (var i = 0; i < farm._servers.Length; i++)
            {
                // Kestrel writes the bound endpoint (with the ephemeral port) back into ListenOptions.
                var port = farm._listenOptions[i]!.IPEndPoint!.Port;
                farm._servers[i].Bind(port);
                byPort.Add(port, farm._servers[i]);
            }

            Volatile.Write(ref farm._byPort, byPort.ToFrozenDictionary());
            return farm;
        }
        catch
        {
            await farm.DisposeAsync();
            throw;
        }
    }

    /// <summary>A data-parallel server becomes one server per rank: ports Port + i (ephemeral when 0), names <c>name-rank-i</c>.</summary>
    private static IEnumerable<SimulatorOptions> Ranks(SimulatorOptions options) =>
        options.DataParallelSize <= 1
            ? [options]
            : Enumerable.Range(0, options.DataParallelSize).Select(i => options with
            {
                Rank = i,
                Port = options.Port == 0 ? 0 : options.Port + i,
                Name = options.Name is null ? null : $"{options.Name}-rank-{i}",
            });

    internal ValueTask StopListenerAsync(int port) => _listeners.StopAsync(port);

    private Task HandleAsync(HttpContext context)
    {
        if (Volatile.Read(ref _byPort).TryGetValue(context.Connection.LocalPort, out var server))
        {
            return server.HandleAsync(context);
        }

        // Only between the listener binding and StartAsync returning.
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        return Task.CompletedTask;
    }

    private sealed class ManualLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Wraps the socket transport so that one port's listener can be closed while the others keep serving.</summary>
    private sealed class StoppableListenerFactory : IConnectionListenerFactory
    {
        private readonly ConcurrentDictionary<int, StoppableListener> _byPort = new();

        public IConnectionListenerFactory? Inner { get; set; }

        public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
        {
            var listener = new StoppableListener(await Inner!.BindAsync(endpoint, cancellationToken));
            if (listener.EndPoint is IPEndPoint bound)
            {
                _byPort[bound.Port] = listener;
            }

            return listener;
        }

        public ValueTask StopAsync(int port) =>
            _byPort.TryGetValue(port, out var listener) ? listener.StopAsync() : ValueTask.CompletedTask;
    }

    private sealed class StoppableListener(IConnectionListener inner) : IConnectionListener
    {
        private readonly ConcurrentDictionary<string, ConnectionContext> _connections = new();
        private volatile bool _stopped;

        public EndPoint EndPoint => inner.EndPoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            var connection = await inner.AcceptAsync(cancellationToken);
            if (connection is null)
            {
                return null;
            }

            if (_stopped)
            {
                // Accepted in the moment before the socket closed; null ends Kestrel's accept loop.
                connection.Abort();
                await connection.DisposeAsync();
                return null;
            }

            _connections[connection.ConnectionId] = connection;
            connection.ConnectionClosed.Register(
                static state =>
                {
                    var (connections, id) = ((ConcurrentDictionary<string, ConnectionContext>, string))state!;
                    connections.TryRemove(id, out _);
                },
                (_connections, connection.ConnectionId));
            return connection;
        }

        public async ValueTask StopAsync()
        {
            _stopped = true;
            await inner.UnbindAsync();
            foreach (var connection in _connections.Values)
            {
                connection.Abort(new ConnectionAbortedException("The simulated model server stopped."));
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => inner.UnbindAsync(cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
