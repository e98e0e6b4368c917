using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Runtime.Transport.Grpc;

namespace Runtime.Transport.Hosting;

/// <summary>Applies our HTTP/2 limits to Kestrel and binds the gRPC listeners.</summary>
internal static class KestrelGrpcSetup
{
    public static void Configure(KestrelServerOptions kestrel, GrpcServerOptions options, IEnumerable<GrpcListener> listeners)
    {
        kestrel.AddServerHeader = false;
        var limits = kestrel.Limits;

        // One ext_proc stream lives as long as its HTTP request (a long SSE response included)
        // and may carry many MB in total: no body size cap, no minimum data rate.
        limits.MaxRequestBodySize = null;
        limits.MinRequestBodyDataRate = null;
        limits.MinResponseDataRate = null;
        limits.MaxConcurrentConnections = null;
        limits.MaxConcurrentUpgradedConnections = null;
        limits.KeepAliveTimeout = TimeSpan.FromHours(1);

        limits.Http2.MaxStreamsPerConnection = options.MaxStreamsPerConnection;
        limits.Http2.InitialConnectionWindowSize = options.InitialConnectionWindowSize;
        limits.Http2.InitialStreamWindowSize = options.InitialStreamWindowSize;
        limits.Http2.MaxFrameSize = options.MaxFrameSize;

        // The connection's input buffer must hold at least one connection window, or Kestrel
        // stops reading the socket before the peer runs out of window.
        limits.MaxRequestBufferSize = Math.Max(options.InitialConnectionWindowSize, limits.MaxRequestBufferSize ?? 0);

        foreach (var listener in listeners)
        {
            kestrel.Listen(listener.Address, listener.Port, listenOptions =>
            {
                listenOptions.Protocols = HttpProtocols.Http2;
                if (listener.Tls is { } tls)
                {
                    listenOptions.UseHttps(HttpsListenerOptions.Create(tls, listener.TlsPolicy));
                }

                // Tag every connection with its listener's services; each call looks its instance up.
                var services = listener.Services;
                listenOptions.Use(next => connection =>
                {
                    connection.Items[ListenerServices.ItemKey] = services;
                    return next(connection);
                });
            });
        }
    }
}
