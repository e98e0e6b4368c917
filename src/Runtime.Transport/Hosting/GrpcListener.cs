using System.Net;

namespace Runtime.Transport.Hosting;

/// <summary>
/// One TCP listener serving gRPC over HTTP/2 (h2c, or TLS with ALPN h2) with its own service
/// instances; <paramref name="TlsPolicy"/> limits the TLS versions and suites it accepts.
/// </summary>
internal sealed record GrpcListener(IPAddress Address, int Port, ListenerServices Services, ServerCertificateProvider? Tls = null, TlsPolicy? TlsPolicy = null);
