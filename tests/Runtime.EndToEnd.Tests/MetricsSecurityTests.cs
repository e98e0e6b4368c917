using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.TestSupport.Kubernetes;
using Runtime.TestSupport.Tls;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// The metrics endpoint of the AOT binary secured as the Go binaries secure it:
/// <c>--metrics-endpoint-auth</c> (bearer tokens checked with the fake API server's TokenReview
/// and SubjectAccessReview, answered with controller-runtime's status codes), and llm-d's
/// <c>--metrics-cert-dir</c> / <c>--metrics-client-ca-file</c> (HTTPS, client certificates).
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class MetricsSecurityTests : IAsyncLifetime
{
    private const string PrometheusToken = "prometheus-token";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(15);

    private readonly string _dir = Directory.CreateTempSubdirectory("runtime-metrics-security-").FullName;
    private readonly TestCertificateAuthority _ca = new();
    private FakeKubeApiServer _api = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeKubeApiServer.StartAsync();
        _api.RequiredToken = FakeCluster.Token;
        _api.Apply("""
            {"apiVersion":"inference.networking.k8s.io/v1","kind":"InferencePool","metadata":{"name":"sims","namespace":"ml"},
             "spec":{"selector":{"matchLabels":{"app":"sim"}},"targetPorts":[{"number":8000}]}}
            """);
        _api.AddToken(PrometheusToken, "system:serviceaccount:monitoring:prometheus");
        _api.AddToken("intruder-token", "system:serviceaccount:default:intruder");
        _api.GrantNonResource("system:serviceaccount:monitoring:prometheus", "get", "/metrics");
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        _ca.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task KubernetesMode_MetricsNeedATokenTheApiServerAcceptsAndAllows()
    {
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--kubeconfig", Kubeconfig(), "--pool-name", "sims", "--pool-namespace", "ml"]);
        using var http = new HttpClient { Timeout = s_timeout };
        var url = new Uri($"http://127.0.0.1:{server.MetricsPort}/metrics");

        Assert.Equal((HttpStatusCode.Unauthorized, "Unauthorized\n"), await GetAsync(http, url, null));
        Assert.Equal((HttpStatusCode.Unauthorized, "Unauthorized\n"), await GetAsync(http, url, "Basic cHJvbTpwYXNz"));
        // k8s.io/apiserver reports a rejected token as an error, which controller-runtime's filter answers with 500.
        Assert.Equal((HttpStatusCode.InternalServerError, "Authentication failed\n"), await GetAsync(http, url, "Bearer forged-token"));
        Assert.Equal((HttpStatusCode.Forbidden, "Authorization denied for user system:serviceaccount:default:intruder\n"), await GetAsync(http, url, "Bearer intruder-token"));

        var (status, page) = await GetAsync(http, url, "Bearer " + PrometheusToken);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("# TYPE inference_pool_ready_pods gauge\n", page, StringComparison.Ordinal);
        var review = _api.AccessReviews[^1];
        Assert.Equal(("get", "/metrics"), (review["nonResourceAttributes"]!["verb"]!.GetValue<string>(), review["nonResourceAttributes"]!["path"]!.GetValue<string>()));
        Assert.Contains($"Serving Prometheus metrics on :{server.MetricsPort}/metrics (HTTP, bearer tokens checked with TokenReview/SubjectAccessReview)", server.Process.Output, StringComparison.Ordinal);
        server.EnsureRunning();
    }

    [Fact]
    public async Task KubernetesModeWithMetricsCertDir_HttpsAndTokens()
    {
        var certDir = WriteServerCertificate();
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--kubeconfig", Kubeconfig(), "--pool-name", "sims", "--pool-namespace", "ml", "--metrics-cert-dir", certDir]);
        using var http = new HttpClient(Handler(clientCertificate: null), disposeHandler: true) { Timeout = s_timeout };
        var url = new Uri($"https://localhost:{server.MetricsPort}/metrics");

        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(http, url, null)).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, url, "Bearer " + PrometheusToken)).Status);
        using var plain = new HttpClient { Timeout = s_timeout };
        await Assert.ThrowsAsync<HttpRequestException>(() => plain.GetAsync(new Uri($"http://127.0.0.1:{server.MetricsPort}/metrics")));
        server.EnsureRunning();
    }

    [Fact]
    public async Task StaticModeWithClientCa_OnlyClientsWithACertificateFromTheCaGetMetrics()
    {
        var certDir = WriteServerCertificate();
        var caFile = Path.Combine(_dir, "ca.crt");
        _ca.WriteCertificate(caFile);
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--endpoints", "127.0.0.1:9", "--metrics-cert-dir", certDir, "--metrics-client-ca-file", caFile]);
        var url = new Uri($"https://localhost:{server.MetricsPort}/metrics");

        using (var anonymous = new HttpClient(Handler(clientCertificate: null), disposeHandler: true) { Timeout = s_timeout })
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.GetAsync(url));
        }

        using var otherCa = new TestCertificateAuthority("CN=other-ca");
        using var stranger = otherCa.IssueClient();
        using (var strangerClient = new HttpClient(Handler(stranger), disposeHandler: true) { Timeout = s_timeout })
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => strangerClient.GetAsync(url));
        }

        using var member = _ca.IssueClient();
        using var memberClient = new HttpClient(Handler(member), disposeHandler: true) { Timeout = s_timeout };
        var (status, page) = await GetAsync(memberClient, url, null);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("inference_pool_ready_pods{name=\"static\"} ", page, StringComparison.Ordinal);
        Assert.Contains("(HTTPS, client certificates required, no authentication)", server.Process.Output, StringComparison.Ordinal);
        server.EnsureRunning();
    }

    [Fact]
    public async Task Bbr_WithKubeconfig_MetricsNeedAnAllowedToken()
    {
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("bbr", ["--kubeconfig", Kubeconfig()]);
        using var http = new HttpClient { Timeout = s_timeout };
        var url = new Uri($"http://127.0.0.1:{server.MetricsPort}/metrics");

        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(http, url, null)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(http, url, "Bearer intruder-token")).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, url, "Bearer " + PrometheusToken)).Status);
        server.EnsureRunning();
    }

    [Theory]
    [InlineData("serve", "--endpoints=127.0.0.1:9", "--metrics-endpoint-auth", "--metrics-endpoint-auth=true needs an API server")]
    [InlineData("serve", "--endpoints=127.0.0.1:9", "--metrics-client-ca-file=/no/such/ca.crt", "metrics TLS cert file unreadable: /no/such/ca.crt")]
    [InlineData("serve", "--pool-name=sims", "--metrics-client-ca-file=/etc/hostname", "\"metrics-client-ca-file\" requires \"metrics-cert-dir\"")]
    [InlineData("bbr", "--v=2", "--metrics-endpoint-auth=true", "not in a cluster, no $KUBECONFIG, no --kubeconfig")]
    public async Task ImpossibleMetricsSecurity_RefusesToStartWithTheReason(string command, string first, string second, string expected)
    {
        var binary = Environment.GetEnvironmentVariable(BinaryRuntimeServer.BinaryVariable)
            ?? throw new InvalidOperationException($"{BinaryRuntimeServer.BinaryVariable} is not set; publish the binary first.");
        await using var process = RuntimeProcess.Start(binary, [command, "--grpc-port=0", first, second], new RuntimeProcessOptions
        {
            Environment = new Dictionary<string, string?> { ["KUBERNETES_SERVICE_HOST"] = null, ["KUBECONFIG"] = null },
        });

        Assert.Equal(2, await process.WaitForExitAsync(s_timeout));
        Assert.Contains(expected, process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientCaFileWithoutACertificate_RefusesToStartWithTheLlmDMessage()
    {
        var certDir = WriteServerCertificate();
        var caFile = Path.Combine(_dir, "ca.crt");
        File.WriteAllText(caFile, "not a PEM bundle\n");
        var binary = Environment.GetEnvironmentVariable(BinaryRuntimeServer.BinaryVariable)
            ?? throw new InvalidOperationException($"{BinaryRuntimeServer.BinaryVariable} is not set; publish the binary first.");
        await using var process = RuntimeProcess.Start(binary, ["serve", "--grpc-port=0", "--endpoints=127.0.0.1:9", "--metrics-cert-dir", certDir, "--metrics-client-ca-file", caFile]);

        Assert.Equal(1, await process.WaitForExitAsync(s_timeout));
        Assert.Contains($"error: no valid CA certs in metrics client CA file: {caFile}", process.Output, StringComparison.Ordinal);
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(HttpClient http, Uri url, string? authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A client that trusts only the test CA, presenting <paramref name="clientCertificate"/> when given.</summary>
    private SocketsHttpHandler Handler(X509Certificate2? clientCertificate)
    {
        var roots = new X509Certificate2Collection(_ca.Certificate);
        return new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = clientCertificate is null ? null : new X509CertificateCollection { clientCertificate },
                CertificateChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, CustomTrustStore = { roots[0] }, RevocationMode = X509RevocationMode.NoCheck },
            },
        };
    }

    private string WriteServerCertificate()
    {
        var certDir = Directory.CreateDirectory(Path.Combine(_dir, "metrics-tls")).FullName;
        using var serverCertificate = _ca.IssueServer();
        TestCertificateAuthority.WriteKeyPair(serverCertificate, certDir);
        return certDir;
    }

    private string Kubeconfig() => FakeCluster.WriteKubeconfig(_api, _dir);
}
