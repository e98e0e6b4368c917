using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Runtime.TestSupport.Tls;

/// <summary>
/// A throw-away CA (ECDSA P-256) that issues server and client certificates, and writes them as
/// the PEM files a Kubernetes TLS Secret mounts (<c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c>).
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private static readonly Oid s_serverAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid s_clientAuth = new("1.3.6.1.5.5.7.3.2");
    private readonly ECDsa _key;

    public TestCertificateAuthority(string subject = "CN=test-ca")
    {
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>The CA certificate (with its key).</summary>
    public X509Certificate2 Certificate { get; }

    public string CertificatePem => Certificate.ExportCertificatePem();

    /// <summary>A server certificate for localhost and 127.0.0.1.</summary>
    public X509Certificate2 IssueServer(string subject = "CN=localhost") => Issue(subject, s_serverAuth, server: true);

    /// <summary>A client certificate (extended key usage clientAuth).</summary>
    public X509Certificate2 IssueClient(string subject = "CN=prometheus") => Issue(subject, s_clientAuth, server: false);

    /// <summary>Writes <c>tls.crt</c> and <c>tls.key</c> of <paramref name="certificate"/> into <paramref name="directory"/>.</summary>
    public static void WriteKeyPair(X509Certificate2 certificate, string directory)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var key = certificate.GetECDsaPrivateKey() ?? throw new ArgumentException("the certificate has no ECDSA private key", nameof(certificate));
        File.WriteAllText(Path.Combine(directory, "tls.crt"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "tls.key"), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>Writes the CA certificate as PEM to <paramref name="path"/>.</summary>
    public void WriteCertificate(string path) => File.WriteAllText(path, CertificatePem);

    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }

    private X509Certificate2 Issue(string subject, Oid usage, bool server)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage], false));
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("localhost");
            san.AddIpAddress(System.Net.IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
        }

        var serial = RandomNumberGenerator.GetBytes(12);
        using var issued = request.Create(Certificate, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(12), serial);
        // Round-trip through PKCS#12 so the key works with SslStream on every platform.
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }
}
