using System.Net.Security;
using System.Security.Authentication;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Runtime.Transport.Hosting;
using Xunit;

namespace Runtime.Transport.Tests.Hosting;

public sealed class TlsPolicyTests
{
    [Fact]
    public void TryParse_NothingGiven_PlatformDefaults()
    {
        Assert.True(TlsPolicy.TryParse(string.Empty, [], out var policy, out var errors), string.Join("\n", errors));

        Assert.Same(TlsPolicy.Default, policy);
        Assert.Equal(SslProtocols.None, policy.Protocols);
    }

    [Theory]
    [InlineData("VersionTLS12", SslProtocols.Tls12 | SslProtocols.Tls13)]
    [InlineData("VersionTLS13", SslProtocols.Tls13)]
    public void TryParse_GoVersionName_ThatVersionAndLater(string name, SslProtocols expected)
    {
        Assert.True(TlsPolicy.TryParse(name, [], out var policy, out _));

        Assert.Equal(expected, policy.Protocols);
    }

    [Theory]
    [InlineData("TLS12")]
    [InlineData("versiontls12")]
    [InlineData("VersionTLS14")]
    public void TryParse_UnknownVersion_TheLlmDRoutersMessage(string name)
    {
        Assert.False(TlsPolicy.TryParse(name, [], out _, out var errors));

        Assert.Equal([$"invalid tls-min-version \"{name}\": unknown TLS version \"{name}\"; supported values: VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13"], errors);
    }

    [Fact]
    public void TryParse_GoSuiteNames_InOrderBlankEntriesSkipped()
    {
        Assert.True(TlsPolicy.TryParse(null, [" TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 ", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"], out var policy, out var errors), string.Join("\n", errors));

        Assert.Equal([TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, TlsCipherSuite.TLS_RSA_WITH_3DES_EDE_CBC_SHA], policy.CipherSuites);
    }

    [Theory]
    [InlineData("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305")] // Go's pre-1.14 alias, not in CipherSuites()
    [InlineData("ECDHE-RSA-AES128-GCM-SHA256")] // the OpenSSL name
    [InlineData("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256")] // IANA, but Go does not implement it
    public void TryParse_NameGoDoesNotList_UnknownCipherSuite(string name)
    {
        Assert.False(TlsPolicy.TryParse(null, ["TLS_AES_128_GCM_SHA256", name], out _, out var errors));

        Assert.Equal([$"invalid tls-cipher-suites: unknown cipher suite \"{name}\""], errors);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void ApplyTo_VersionAndSuites_SetOnTheListenerAndEachHandshake()
    {
        Assert.True(TlsPolicy.TryParse("VersionTLS12", ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"], out var policy, out _));
        var https = new HttpsConnectionAdapterOptions();

        policy.ApplyTo(https);
        var handshake = new SslServerAuthenticationOptions();
        https.OnAuthenticate!(null!, handshake);

        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, https.SslProtocols);
        Assert.NotNull(handshake.CipherSuitesPolicy);
        // TLS 1.3's suites stay allowed, as Go ignores the list for TLS 1.3.
        Assert.Equal(
            [TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_256_GCM_SHA384, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256],
            handshake.CipherSuitesPolicy!.AllowedCipherSuites);
    }
}
