using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Runtime.ControlPlane.Kubernetes.Access;

namespace Runtime.ControlPlane.Kubernetes.Tests.Access;

/// <summary>The source against the fake API server over TLS: the configured CA is trusted, nothing else is.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly X509Certificate2 _serverCertificate = SelfSignedServer();

    public void Dispose() => _serverCertificate.Dispose();

    [Fact]
    public async Task Source_ServerSignedByConfiguredAuthority_Syncs()
    {
        var roots = new X509Certificate2Collection(X509CertificateLoader.LoadCertificate(_serverCertificate.RawData));
        await using var h = await SourceHarness.StartAsync(
            seed: s => s.Apply(KubeObjects.Pod("a", "10.0.0.1")),
            access: url => new KubernetesAccess(url) { CertificateAuthority = roots },
            certificate: _serverCertificate);

        Assert.Equal("https", h.Server.Url.Scheme);
        await h.SyncedAsync();
        Assert.NotNull(h.Pod("a"));
    }

    [Fact]
    public async Task Source_UntrustedServer_ReportsErrorAndStaysUnsynced()
    {
        await using var h = await SourceHarness.StartAsync(
            seed: s => s.Apply(KubeObjects.Pod("a", "10.0.0.1")),
            certificate: _serverCertificate);

        await SourceHarness.EventuallyAsync(() => h.State.LastError is not null, "a TLS error report");

        Assert.False(h.State.Synced);
        Assert.Equal(0, h.Server.ListRequests());
    }

    [Fact]
    public async Task Source_InsecureSkipVerify_Syncs()
    {
        await using var h = await SourceHarness.StartAsync(
            seed: s => s.Apply(KubeObjects.Pod("a", "10.0.0.1")),
            access: url => new KubernetesAccess(url) { InsecureSkipTlsVerify = true },
            certificate: _serverCertificate);

        await h.SyncedAsync();
    }

    private static X509Certificate2 SelfSignedServer()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=fake-kube-apiserver", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }
}
