using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Runtime.Transport.Hosting;

/// <summary>Kestrel HTTPS settings of our secure listeners: a (reloadable) certificate, a version and suite policy, optionally required client certificates.</summary>
internal static class HttpsListenerOptions
{
    /// <summary>
    /// The certificate is asked for on every handshake, so a reloaded one applies to new connections.
    /// With <paramref name="clients"/>, a client certificate chaining to it is required.
    /// </summary>
    public static HttpsConnectionAdapterOptions Create(ServerCertificateProvider certificate, TlsPolicy? policy = null, ClientCertificateAuthority? clients = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var https = new HttpsConnectionAdapterOptions
        {
            ServerCertificateSelector = (_, _) => certificate.Current,
        };
        policy?.ApplyTo(https);
        if (clients is not null)
        {
            https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            https.CheckCertificateRevocation = false;
            https.ClientCertificateValidation = (client, chain, _) => clients.Verify(client, chain);
        }

        return https;
    }

    /// <summary>TLS 1.2 and 1.3 only, as the llm-d router sets its metrics server's minimum.</summary>
    public static TlsPolicy Tls12OrLater { get; } = TlsPolicy.TryParse("VersionTLS12", [], out var policy, out _) ? policy : TlsPolicy.Default;
}
