using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using Runtime.TestSupport.Logging;
using Runtime.Transport.Hosting;
using Xunit;

namespace Runtime.Transport.Tests.Hosting;

/// <summary><c>--cert-path</c> with <c>--enable-cert-reload</c>: a rotated pair is served, a broken one is not.</summary>
public sealed class ServerCertificateProviderTests : IDisposable
{
    private static readonly TimeSpan s_interval = TimeSpan.FromSeconds(5);
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("certs-");
    private readonly FakeTimeProvider _time = new();
    private readonly CapturingLoggerProvider _logs = new();
    private int _writes;

    public void Dispose() => _directory.Delete(recursive: true);

    private string CertFile => Path.Combine(_directory.FullName, "tls.crt");

    private string KeyFile => Path.Combine(_directory.FullName, "tls.key");

    private void WritePair(string subject, bool matchingKey = true)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = new CertificateRequest(subject, key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(CertFile, certificate.ExportCertificatePem());
        File.WriteAllText(KeyFile, (matchingKey ? key : other).ExportPkcs8PrivateKeyPem());
        var stamp = DateTime.UtcNow.AddSeconds(++_writes);
        File.SetLastWriteTimeUtc(CertFile, stamp);
        File.SetLastWriteTimeUtc(KeyFile, stamp);
    }

    [Fact]
    public void FromDirectory_Rotated_ServesTheNewCertificateAfterThePoll()
    {
        WritePair("CN=first");
        using var provider = ServerCertificateProvider.FromDirectory(_directory.FullName, s_interval, _logs.Logger, _time);
        Assert.Equal("CN=first", provider.Current.Subject);

        WritePair("CN=second");
        _time.Advance(s_interval);

        Assert.Equal("CN=second", provider.Current.Subject);
        Assert.Contains(_logs.Entries, e => e.Message.StartsWith($"Loaded the TLS certificate from {_directory.FullName}: CN=second", StringComparison.Ordinal));
    }

    [Fact]
    public void FromDirectory_KeyDoesNotMatchMidRotation_KeepsServingTheLastGoodPairAndRetries()
    {
        WritePair("CN=first");
        using var provider = ServerCertificateProvider.FromDirectory(_directory.FullName, s_interval, _logs.Logger, _time);

        WritePair("CN=second", matchingKey: false);
        _time.Advance(s_interval);

        Assert.Equal("CN=first", provider.Current.Subject);
        Assert.Contains(_logs.Entries, e => e.Message == $"tls_certificate: {_directory.FullName} not applied (1 errors); keeping the last good state");

        WritePair("CN=third");
        _time.Advance(s_interval);
        Assert.Equal("CN=third", provider.Current.Subject);
    }

    [Fact]
    public void FromDirectory_NoReloadInterval_NeverLooksAgain()
    {
        WritePair("CN=first");
        using var provider = ServerCertificateProvider.FromDirectory(_directory.FullName, Timeout.InfiniteTimeSpan, _logs.Logger, _time);

        WritePair("CN=second");
        _time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal("CN=first", provider.Current.Subject);
    }

    [Fact]
    public void FromDirectory_NoFiles_FailsNamingThem()
    {
        var error = Assert.Throws<InvalidOperationException>(() => ServerCertificateProvider.FromDirectory(_directory.FullName, s_interval, _logs.Logger, _time));

        Assert.Equal($"cannot load the TLS certificate from {CertFile} and {KeyFile}: could not be read: {CertFile} does not exist", error.Message);
    }
}
