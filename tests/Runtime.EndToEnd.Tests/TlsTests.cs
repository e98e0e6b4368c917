using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Runtime.EndToEnd.Tests.Fixtures;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// TLS on the ext_proc port (SPEC §7): on by default with a self-signed certificate, or from
/// <c>--cert-path</c> with reload when the files are rotated. Each test runs its own server.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class TlsTests : IDisposable
{
    private readonly string _certDirectory = Directory.CreateTempSubdirectory("runtime-tls-").FullName;
    private readonly List<string> _seenSubjects = [];

    [Fact]
    public async Task Serve_SecureServingWithoutCertPath_SelfSignedTlsNegotiatesH2AndProcesses()
    {
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync(["--secure-serving=true"]);

        var status = await RunExchangeOverTlsAsync(server.ExtProcPort);

        Assert.True(status.IsOk, $"{status}{Environment.NewLine}{server.Diagnostics}");
        Assert.Equal("CN=runtime-endpoint-picker", Assert.Single(_seenSubjects));
    }

    [Fact]
    public async Task Serve_CertPathRotated_NewConnectionsGetTheNewCertificate()
    {
        WriteCertificate("CN=first");
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync(["--secure-serving=true", "--cert-path", _certDirectory, "--enable-cert-reload"]);
        Assert.True((await RunExchangeOverTlsAsync(server.ExtProcPort)).IsOk, server.Diagnostics);
        Assert.Equal("CN=first", _seenSubjects[^1]);

        // Kubernetes rotates a Secret by rewriting both files; the server polls for changes.
        WriteCertificate("CN=second");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (_seenSubjects[^1] != "CN=second" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            Assert.True((await RunExchangeOverTlsAsync(server.ExtProcPort)).IsOk, server.Diagnostics);
        }

        Assert.Equal("CN=second", _seenSubjects[^1]);
    }

    [Fact]
    public async Task Serve_CertPathWithoutFiles_ExitsWithError()
    {
        await using var process = RuntimeProcess.Start(
            Environment.GetEnvironmentVariable(BinaryRuntimeServer.BinaryVariable)!,
            ["serve", "--cert-path", _certDirectory, "--bind-address", "127.0.0.1",
             "--grpc-port", TestPorts.GetFreeTcpPort().ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--grpc-health-port", TestPorts.GetFreeTcpPort().ToString(System.Globalization.CultureInfo.InvariantCulture)]);

        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(10));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("tls.crt", process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_TlsMinVersion13_RefusesATls12ClientAndAcceptsTls13()
    {
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync(["--secure-serving=true", "--tls-min-version=VersionTLS13"]);

        await Assert.ThrowsAsync<AuthenticationException>(() => HandshakeAsync(server.ExtProcPort, SslProtocols.Tls12));
        Assert.Equal(SslProtocols.Tls13, (await HandshakeAsync(server.ExtProcPort, SslProtocols.Tls12 | SslProtocols.Tls13)).Protocol);
        Assert.True((await RunExchangeOverTlsAsync(server.ExtProcPort)).IsOk, server.Diagnostics);
    }

    [Fact]
    public async Task Serve_TlsCipherSuites_Tls12HandshakesUseOnlyTheListedSuites()
    {
        // The self-signed certificate has an ECDSA key, so the ECDHE_ECDSA suites apply.
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync(["--secure-serving=true", "--tls-cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"]);

        var negotiated = await HandshakeAsync(server.ExtProcPort, SslProtocols.Tls12);
        Assert.Equal(TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, negotiated.Suite);
        await Assert.ThrowsAsync<AuthenticationException>(() => HandshakeAsync(server.ExtProcPort, SslProtocols.Tls12, TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256));
        // TLS 1.3 keeps its own suites, as in Go.
        Assert.Equal(SslProtocols.Tls13, (await HandshakeAsync(server.ExtProcPort, SslProtocols.Tls13)).Protocol);
    }

    [Theory]
    [InlineData("--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,ECDHE-RSA-AES128-SHA", "invalid tls-cipher-suites: unknown cipher suite \"ECDHE-RSA-AES128-SHA\"")]
    [InlineData("--tls-min-version=TLSv1.3", "invalid tls-min-version \"TLSv1.3\": unknown TLS version \"TLSv1.3\"; supported values: VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13")]
    public async Task Serve_UnknownTlsValue_ExitsAsOtherFlagErrorsWithTheReason(string flag, string expected)
    {
        await using var process = RuntimeProcess.Start(Environment.GetEnvironmentVariable(BinaryRuntimeServer.BinaryVariable)!, ["serve", "--grpc-port=0", flag]);

        Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains(expected, process.Output, StringComparison.Ordinal);
    }

    /// <summary>A bare TLS handshake (ALPN h2) offering only <paramref name="protocols"/> (and <paramref name="suite"/> when given).</summary>
    private static async Task<(SslProtocols Protocol, TlsCipherSuite Suite)> HandshakeAsync(int port, SslProtocols protocols, TlsCipherSuite? suite = null)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, port);
        await using var ssl = new SslStream(tcp.GetStream());
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = protocols,
            ApplicationProtocols = [SslApplicationProtocol.Http2],
            RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate?.Subject == "CN=runtime-endpoint-picker",
        };
        if (suite is { } only && OperatingSystem.IsLinux())
        {
            options.CipherSuitesPolicy = new CipherSuitesPolicy([only]);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await ssl.AuthenticateAsClientAsync(options, timeout.Token);
        return (ssl.SslProtocol, ssl.NegotiatedCipherSuite);
    }

    private async Task<GrpcCallStatus> RunExchangeOverTlsAsync(int port)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ApplicationProtocols = [SslApplicationProtocol.Http2],
                // The test pins the certificates it expects instead of trusting a CA.
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    _seenSubjects.Add(certificate?.Subject ?? "(none)");
                    return certificate?.Subject is "CN=runtime-endpoint-picker" or "CN=first" or "CN=second";
                },
            },
        };
        using var client = new EnvoyExtProcClient(new Uri($"https://localhost:{port}"), new HttpMessageInvoker(handler), disposeInvoker: true);
        var request = new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(),
            BodyChunks = [ChatCompletionBodies.Create(2048)],
        };
        var result = await client.RunFullDuplexAsync(request, timeout: TimeSpan.FromSeconds(10));
        Assert.Empty(result.Violations);
        return result.Status;
    }

    private void WriteCertificate(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));
        // Write to temp names then rename, as a Secret volume update appears atomically.
        var crt = Path.Combine(_certDirectory, "tls.crt");
        var keyFile = Path.Combine(_certDirectory, "tls.key");
        File.WriteAllText(crt + ".tmp", certificate.ExportCertificatePem());
        File.WriteAllText(keyFile + ".tmp", key.ExportPkcs8PrivateKeyPem());
        File.Move(keyFile + ".tmp", keyFile, overwrite: true);
        File.Move(crt + ".tmp", crt, overwrite: true);
        // File times have coarse resolution on some filesystems: make the change visible.
        var stamp = DateTime.UtcNow.AddSeconds(_seenSubjects.Count + 1);
        File.SetLastWriteTimeUtc(crt, stamp);
        File.SetLastWriteTimeUtc(keyFile, stamp);
    }

    public void Dispose() => Directory.Delete(_certDirectory, recursive: true);
}
