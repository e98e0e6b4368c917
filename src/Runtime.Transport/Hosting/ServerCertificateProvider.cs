using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Runtime.Transport.Hosting;

/// <summary>
/// The TLS certificate of a secure listener: <c>tls.crt</c>/<c>tls.key</c> from
/// <c>--cert-path</c> (reloaded when the files change, e.g. a rotated Kubernetes Secret), or a
/// self-signed one generated at start, as the Go endpoint picker does without a cert path.
/// </summary>
public sealed partial class ServerCertificateProvider : IDisposable
{
    private readonly string? _directory;
    private readonly ILogger _logger;
    private readonly Timer? _reloadTimer;
    private X509Certificate2 _current;
    private DateTime _loadedStamp;

    private ServerCertificateProvider(string? directory, X509Certificate2 certificate, DateTime stamp, TimeSpan reloadInterval, ILogger logger)
    {
        _directory = directory;
        _current = certificate;
        _loadedStamp = stamp;
        _logger = logger;
        if (directory is not null)
        {
            _reloadTimer = new Timer(_ => TryReload(), null, reloadInterval, reloadInterval);
        }
    }

    public X509Certificate2 Current => Volatile.Read(ref _current);

    public static ServerCertificateProvider SelfSigned(ILogger logger)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=runtime-endpoint-picker", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        var now = DateTimeOffset.UtcNow;
        using var ephemeral = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(10));
        // Round-trip through PKCS#12 so the private key is usable by SslStream everywhere.
        var certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
        return new ServerCertificateProvider(null, certificate, default, default, logger);
    }

    /// <exception cref="InvalidOperationException">The files are missing or unreadable; the message names them.</exception>
    public static ServerCertificateProvider FromDirectory(string directory, TimeSpan reloadInterval, ILogger logger)
    {
        X509Certificate2 certificate;
        DateTime stamp;
        try
        {
            certificate = Load(directory, out stamp);
        }
        catch (Exception ex) when (ex is IOException or CryptographicException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException(
                $"cannot load the TLS certificate from {Path.Combine(directory, "tls.crt")} and {Path.Combine(directory, "tls.key")}: {ex.Message}", ex);
        }

        return new ServerCertificateProvider(directory, certificate, stamp, reloadInterval, logger);
    }

    private static X509Certificate2 Load(string directory, out DateTime stamp)
    {
        var certFile = Path.Combine(directory, "tls.crt");
        var keyFile = Path.Combine(directory, "tls.key");
        stamp = Stamp(certFile, keyFile);
        using var pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    private static DateTime Stamp(string certFile, string keyFile)
    {
        var a = File.GetLastWriteTimeUtc(certFile);
        var b = File.GetLastWriteTimeUtc(keyFile);
        return a > b ? a : b;
    }

    private void TryReload()
    {
        try
        {
            var stamp = Stamp(Path.Combine(_directory!, "tls.crt"), Path.Combine(_directory!, "tls.key"));
            if (stamp == _loadedStamp)
            {
                return;
            }

            var next = Load(_directory!, out stamp);
            _loadedStamp = stamp;
            Volatile.Write(ref _current, next);
            Log.Reloaded(_logger, _directory!, next.Subject, next.NotAfter);
        }
        catch (Exception ex) when (ex is IOException or CryptographicException or UnauthorizedAccessException)
        {
            // Mid-rotation files may be inconsistent for a moment: keep serving the last good cert.
            Log.ReloadFailed(_logger, _directory!, ex.Message);
        }
    }

    public void Dispose() => _reloadTimer?.Dispose();

    private static partial class Log
    {
        [LoggerMessage(1101, LogLevel.Information, "Reloaded TLS certificate from {Directory}: {Subject}, expires {NotAfter}")]
        public static partial void Reloaded(ILogger logger, string directory, string subject, DateTime notAfter);

        [LoggerMessage(1102, LogLevel.Warning, "Could not reload TLS certificate from {Directory}, keeping the current one: {Reason}")]
        public static partial void ReloadFailed(ILogger logger, string directory, string reason);
    }
}
