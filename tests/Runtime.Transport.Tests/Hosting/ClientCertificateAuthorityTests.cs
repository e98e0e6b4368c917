using Runtime.TestSupport.Tls;
using Runtime.Transport.Hosting;
using Xunit;

namespace Runtime.Transport.Tests.Hosting;

public sealed class ClientCertificateAuthorityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("runtime-ca-").FullName;
    private readonly TestCertificateAuthority _ca = new();

    [Fact]
    public void Verify_ClientCertificateFromTheCa_Accepted()
    {
        using var authority = LoadCa();
        using var client = _ca.IssueClient();

        Assert.True(authority.Verify(client, null));
    }

    [Fact]
    public void Verify_CertificateFromAnotherCa_Refused()
    {
        using var authority = LoadCa();
        using var other = new TestCertificateAuthority("CN=other-ca");
        using var client = other.IssueClient();

        Assert.False(authority.Verify(client, null));
    }

    [Fact]
    public void Verify_ServerOnlyCertificate_RefusedForClientAuthentication()
    {
        using var authority = LoadCa();
        using var server = _ca.IssueServer();

        Assert.False(authority.Verify(server, null));
    }

    [Fact]
    public void Load_MissingFile_ReadingMetricsClientCa()
    {
        var path = Path.Combine(_dir, "missing.pem");

        var error = Assert.Throws<InvalidOperationException>(() => ClientCertificateAuthority.Load(path));

        Assert.StartsWith($"reading metrics client CA {path}: ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a certificate")]
    [InlineData("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")]
    public void Load_NoCertificateInTheFile_NoValidCaCerts(string content)
    {
        var path = Path.Combine(_dir, "ca.pem");
        File.WriteAllText(path, content);

        var error = Assert.Throws<InvalidOperationException>(() => ClientCertificateAuthority.Load(path));

        Assert.Equal($"no valid CA certs in metrics client CA file: {path}", error.Message);
    }

    public void Dispose()
    {
        _ca.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private ClientCertificateAuthority LoadCa()
    {
        var path = Path.Combine(_dir, "ca.crt");
        _ca.WriteCertificate(path);
        return ClientCertificateAuthority.Load(path);
    }
}
