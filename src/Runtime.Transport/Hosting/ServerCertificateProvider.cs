using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Runtime.Primitives.Reloading;

namespace Runtime.Transport.Hosting;

/// <summary>
/// The TLS certificate of a secure listener: <c>tls.crt</c>/<c>tls.key</c> from
/// <c>--cert-path</c> (with <c>--enable-cert-reload</c>, reloaded through the process's one
/// <see cref="ReloadableSource{T}"/> when the files change, e.g. a rotated Kubernetes Secret), or a
/// self-signed one generated at start, as the Go endpoint picker does without a cert path.
/// </summary>
internal sealed partial class ServerCertificateProvider : IDisposable
{
    private readonly X509Certificate2? _fixed;
    private readonly ReloadableSource<X509Certificate2>? _source;

    private ServerCertificateProvider(X509Certificate2 certificate)
    {
        _fixed = certificate;
    }

    private ServerCertificateProvider(ReloadableSource<X509Certificate2> source)
    {
        _source = source;
    }

    public X509Certificate2 Current => _fixed ?? _source!.Current!;

    public static ServerCertificateProvider SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=runtime-endpoint-picker", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        var now = DateTimeOffset.UtcNow;
        using var ephemeral = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(10));
        // Round-trip through PKCS#12 so the private key is usable by SslStream everywhere.
        return new ServerCertificateProvider(X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null));
    }

    /// <summary>Loads the pair now; with a positive <paramref name="reloadInterval"/>, checks the files that often and swaps in a new valid pair.</summary>
    /// <exception cref="InvalidOperationException">The files are missing, unreadable or not a certificate and its key; the message names them.</exception>
    public static ServerCertificateProvider FromDirectory(string directory, TimeSpan reloadInterval, ILogger logger, TimeProvider? timeProvider = null)
    {
        var certFile = Path.Combine(directory, "tls.crt");
        var keyFile = Path.Combine(directory, "tls.key");
        var source = new ReloadableSource<X509Certificate2>(
            new ReloadableSourceOptions
            {
                Name = "tls_certificate",
                Location = directory,
                PollInterval = reloadInterval,
                TimeProvider = timeProvider ?? TimeProvider.System,
            },
            () => FileFingerprint.OfFiles(certFile, keyFile),
            () => Load(certFile, keyFile),
            certificate =>
            {
                Log.Loaded(logger, directory, certificate.Subject, certificate.NotAfter);
                return true;
            },
            logger);
        var first = source.LoadFirst();
        if (first.Status == ReloadStatus.Rejected)
        {
            source.Dispose();
            throw new InvalidOperationException($"cannot load the TLS certificate from {certFile} and {keyFile}: {string.Join("; ", first.Errors)}");
        }

        if (reloadInterval > TimeSpan.Zero)
        {
            source.Start();
        }

        return new ServerCertificateProvider(source);
    }

    public void Dispose() => _source?.Dispose();

    private static LoadResult<X509Certificate2> Load(string certFile, string keyFile)
    {
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            return LoadResult.Valid(X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null));
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            // Not PEM, or a key that does not match the certificate (ArgumentException): mid-rotation
            // the two files may disagree for a moment, so read them again at the next poll.
            // Our own words: the native-AOT binary carries resource keys, not texts, for framework messages.
            return LoadResult.Unreadable<X509Certificate2>([ex is ArgumentException
                ? $"the private key does not match the certificate ({ex.Message})"
                : $"not a PEM certificate with its PEM private key ({ex.Message})"]);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1101, LogLevel.Information, "Loaded the TLS certificate from {Directory}: {Subject}, expires {NotAfter}")]
        public static partial void Loaded(ILogger logger, string directory, string subject, DateTime notAfter);
    }
}
