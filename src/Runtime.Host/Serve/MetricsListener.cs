using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using Runtime.ControlPlane.Kubernetes.Access;
using Runtime.ControlPlane.Kubernetes.Reviews;
using Runtime.Telemetry.Hosting;
using Runtime.Telemetry.Prometheus;
using Runtime.Transport.Hosting;

namespace Runtime.Host.Serve;

/// <summary>
/// The metrics listener as the Go binaries run it (controller-runtime's metrics server, with llm-d's
/// TLS options): <c>/metrics</c> over plain HTTP, or over TLS from <c>--metrics-cert-dir</c>
/// (TLS 1.2+, the files reloaded when they change) requiring client certificates from
/// <c>--metrics-client-ca-file</c>; with <c>--metrics-endpoint-auth</c> every request is checked
/// by the API server (<see cref="DelegatedAuth"/>).
/// </summary>
internal sealed class MetricsListener : IDisposable
{
    private static readonly TimeSpan s_certificateReload = TimeSpan.FromSeconds(10);

    private readonly PrometheusExporter _exporter;
    private readonly ServerCertificateProvider? _certificate;
    private readonly ClientCertificateAuthority? _clients;
    private readonly KubernetesAccess? _access;
    private DelegatedAuth? _auth;
    private PrometheusEndpoint? _endpoint;

    private MetricsListener(PrometheusExporter exporter, ServerCertificateProvider? certificate, ClientCertificateAuthority? clients, KubernetesAccess? access)
    {
        _exporter = exporter;
        _certificate = certificate;
        _clients = clients;
        _access = access;
    }

    /// <summary>How the listener is secured, for the start-up log line.</summary>
    public string Description =>
        (_certificate is null ? "HTTP" : _clients is null ? "HTTPS" : "HTTPS, client certificates required")
        + (_access is null ? ", no authentication" : ", bearer tokens checked with TokenReview/SubjectAccessReview");

    /// <summary>
    /// Loads what the listener needs before it binds: the certificate and client CA, and the API
    /// server's address for auth.
    /// </summary>
    /// <exception cref="InvalidOperationException">A file cannot be loaded or the API server cannot be found; the message says which.</exception>
    public static MetricsListener Create(ServeOptions options, PrometheusExporter exporter, ILogger certificateLogger)
    {
        KubernetesAccess? access = null;
        if (options.MetricsEndpointAuth)
        {
            try
            {
                access = KubernetesAccess.Resolve(string.IsNullOrEmpty(options.Kubeconfig) ? null : options.Kubeconfig);
            }
            catch (KubernetesConfigException ex)
            {
                throw new InvalidOperationException($"--metrics-endpoint-auth needs the Kubernetes API for TokenReview and SubjectAccessReview: {ex.Message}", ex);
            }
        }

        if (string.IsNullOrEmpty(options.MetricsCertDir))
        {
            return new MetricsListener(exporter, null, null, access);
        }

        var certificate = ServerCertificateProvider.FromDirectory(options.MetricsCertDir, s_certificateReload, certificateLogger);
        try
        {
            var clients = string.IsNullOrEmpty(options.MetricsClientCaFile) ? null : ClientCertificateAuthority.Load(options.MetricsClientCaFile);
            return new MetricsListener(exporter, certificate, clients, access);
        }
        catch
        {
            certificate.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The effective <c>--metrics-endpoint-auth</c>: the flag when given, otherwise Go's default (on)
    /// where an API server is there to ask and off where there is none; asking for it without one
    /// is an error, since nothing could check a token.
    /// </summary>
    public static bool ResolveAuth(bool? given, bool hasApiServer, string withoutApiServer, List<string> errors)
    {
        if (given == true && !hasApiServer)
        {
            errors.Add($"--metrics-endpoint-auth=true needs an API server to check bearer tokens (TokenReview, SubjectAccessReview), and there is none: {withoutApiServer}. Leave it unset (or false), or use --metrics-cert-dir with --metrics-client-ca-file for client certificates");
        }

        return given ?? hasApiServer;
    }

    /// <summary>
    /// The llm-d router's checks of <c>--metrics-cert-dir</c> and <c>--metrics-client-ca-file</c>
    /// (<c>Options.Complete</c>/<c>Validate</c>), with its messages.
    /// </summary>
    public static void Validate(ServeOptions options, List<string> errors)
    {
        if (!string.IsNullOrEmpty(options.MetricsClientCaFile) && !File.Exists(options.MetricsClientCaFile))
        {
            errors.Add($"metrics TLS cert file unreadable: {options.MetricsClientCaFile}: no such file");
        }

        if (!string.IsNullOrEmpty(options.MetricsCertDir))
        {
            foreach (var name in (ReadOnlySpan<string>)["tls.crt", "tls.key"])
            {
                var path = Path.Combine(options.MetricsCertDir, name);
                if (!File.Exists(path))
                {
                    errors.Add($"metrics TLS cert file unreadable: {path}: no such file");
                }
            }
        }

        if (!string.IsNullOrEmpty(options.MetricsClientCaFile) && string.IsNullOrEmpty(options.MetricsCertDir))
        {
            errors.Add("\"metrics-client-ca-file\" requires \"metrics-cert-dir\"");
        }

        if (!string.IsNullOrEmpty(options.MetricsCertDir) && string.IsNullOrEmpty(options.MetricsClientCaFile) && !options.MetricsEndpointAuth)
        {
            errors.Add("\"metrics-cert-dir\" enables metrics TLS without authentication; set \"metrics-client-ca-file\" or \"metrics-endpoint-auth\""
                + (options.UsesKubernetesApi ? string.Empty : " (without the Kubernetes API only \"metrics-client-ca-file\" can apply)"));
        }
    }

    /// <summary>Binds the listener (TLS when configured).</summary>
    public void Listen(KestrelServerOptions kestrel, IPAddress address, int port) =>
        PrometheusEndpoint.Listen(kestrel, address, port, Https());

    /// <summary>Builds the endpoint once the host's loggers exist.</summary>
    public void Start(ILoggerFactory loggers)
    {
        if (_access is not null)
        {
            _auth = new DelegatedAuth(_access, loggers.CreateLogger("Runtime.Metrics.Auth"));
        }

        _endpoint = new PrometheusEndpoint(_exporter, _auth is null ? null : new Gate(_auth));
    }

    public Task HandleAsync(HttpContext context) =>
        (_endpoint ?? throw new InvalidOperationException("the metrics listener was not started")).HandleAsync(context);

    public void Dispose()
    {
        _auth?.Dispose();
        _certificate?.Dispose();
        _clients?.Dispose();
    }

    private HttpsConnectionAdapterOptions? Https() =>
        _certificate is null ? null : HttpsListenerOptions.Create(_certificate, HttpsListenerOptions.Tls12OrLater, _clients);

    private sealed class Gate(DelegatedAuth auth) : IMetricsRequestGate
    {
        public async ValueTask<MetricsRefusal?> CheckAsync(string? authorization, string method, string path, CancellationToken cancellationToken)
        {
            var result = await auth.CheckAsync(authorization, method, path, cancellationToken).ConfigureAwait(false);
            return result.IsAllowed ? null : new MetricsRefusal(result.StatusCode, result.Message);
        }
    }
}
