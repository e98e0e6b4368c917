using System.Net;
using Runtime.Transport.Grpc;

namespace Runtime.Transport.Hosting;

/// <summary>One TCP listener serving a table of gRPC methods over HTTP/2 (h2c, or TLS with ALPN h2).</summary>
public sealed record GrpcListener(IPAddress Address, int Port, GrpcServiceTable Services, ServerCertificateProvider? Tls = null);
