using System.Net.Security;
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
