using System.Security.Authentication;
using Runtime.Host.Bbr;
using Runtime.Host.Serve;
using Xunit;

namespace Runtime.Host.Tests.Serve;

/// <summary>
/// <c>--metrics-endpoint-auth</c> per mode, llm-d's metrics TLS rules and <c>--tls-*</c> parsing,
/// as <c>runtime serve</c> and <c>runtime bbr</c> bind them.
/// </summary>
public sealed class SecurityFlagsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("runtime-flags-").FullName;

    [Theory]
    [InlineData(true, "--pool-name", "p")]
    [InlineData(true, "--endpoint-selector", "app=vllm", "--endpoint-target-ports", "8000")]
    [InlineData(false, "--endpoints", "10.0.0.1:8000")]
    [InlineData(false, "--pool-name", "p", "--manifests-dir", "/tmp")]
    [InlineData(false)]
    public void Serve_MetricsEndpointAuthUnset_OnExactlyWithTheKubernetesApi(bool expected, params string[] args)
    {
        Assert.True(ServeCommand.TryParse(args, out var options, out var errors, out _), string.Join("\n", errors));

        Assert.Equal(expected, options.MetricsEndpointAuth);
    }

    [Fact]
    public void Serve_AuthFalseInKubernetesMode_Off()
    {
        Assert.True(ServeCommand.TryParse(["--pool-name", "p", "--metrics-endpoint-auth=false"], out var options, out _, out _));

        Assert.False(options.MetricsEndpointAuth);
    }

    [Theory]
    [InlineData("--metrics-endpoint-auth")]
    [InlineData("--metrics-endpoint-auth=true")]
    public void Serve_AuthTrueWithoutApiServer_ClearError(string flag)
    {
        Assert.False(ServeCommand.TryParse(["--endpoints", "10.0.0.1:8000", flag], out _, out var errors, out _));

        Assert.Contains(errors, e => e.StartsWith("--metrics-endpoint-auth=true needs an API server to check bearer tokens", StringComparison.Ordinal)
            && e.Contains("static endpoints and --manifests-dir have none", StringComparison.Ordinal));
    }

    [Fact]
    public void Serve_TlsFlags_BoundToThePolicy()
    {
        Assert.True(ServeCommand.TryParse(["--tls-min-version", "VersionTLS13", "--tls-cipher-suites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "--tls-cipher-suites=TLS_RSA_WITH_AES_128_CBC_SHA"], out var options, out var errors, out _), string.Join("\n", errors));

        Assert.Equal(SslProtocols.Tls13, options.TlsPolicy.Protocols);
        Assert.Equal(3, options.TlsPolicy.CipherSuites.Count);
    }

    [Fact]
    public void Serve_BadTlsValues_EveryOneReportedWithTheLlmDMessages()
    {
        Assert.False(ServeCommand.TryParse(["--tls-min-version", "TLS1.2", "--tls-cipher-suites", "RC4-MD5,TLS_AES_128_GCM_SHA256,DES"], out _, out var errors, out _));

        Assert.Equal(
            ["invalid tls-min-version \"TLS1.2\": unknown TLS version \"TLS1.2\"; supported values: VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13",
             "invalid tls-cipher-suites: unknown cipher suite \"RC4-MD5\"",
             "invalid tls-cipher-suites: unknown cipher suite \"DES\""],
            errors);
    }

    [Fact]
    public void Serve_UnknownCipherSuite_Error()
    {
        Assert.False(ServeCommand.TryParse(["--tls-cipher-suites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,RC4-MD5"], out _, out var errors, out _));

        Assert.Contains("invalid tls-cipher-suites: unknown cipher suite \"RC4-MD5\"", errors);
    }

    [Fact]
    public void Serve_ClientCaWithoutCertDir_RequiresCertDir()
    {
        var ca = Touch("ca.crt");

        Assert.False(ServeCommand.TryParse(["--pool-name", "p", "--metrics-client-ca-file", ca], out _, out var errors, out _));

        Assert.Equal(["\"metrics-client-ca-file\" requires \"metrics-cert-dir\""], errors);
    }

    [Fact]
    public void Serve_MissingMetricsFiles_NamesEachOne()
    {
        var ca = Path.Combine(_dir, "missing-ca.crt");

        Assert.False(ServeCommand.TryParse(["--pool-name", "p", "--metrics-cert-dir", _dir, "--metrics-client-ca-file", ca], out _, out var errors, out _));

        Assert.Equal(
            [$"metrics TLS cert file unreadable: {ca}: no such file", $"metrics TLS cert file unreadable: {Path.Combine(_dir, "tls.crt")}: no such file", $"metrics TLS cert file unreadable: {Path.Combine(_dir, "tls.key")}: no such file"],
            errors);
    }

    [Fact]
    public void Serve_CertDirWithoutAnyAuthentication_Refused()
    {
        Touch("tls.crt");
        Touch("tls.key");

        Assert.False(ServeCommand.TryParse(["--pool-name", "p", "--metrics-cert-dir", _dir, "--metrics-endpoint-auth=false"], out _, out var errors, out _));

        Assert.Equal(["\"metrics-cert-dir\" enables metrics TLS without authentication; set \"metrics-client-ca-file\" or \"metrics-endpoint-auth\""], errors);
    }

    [Fact]
    public void Serve_CertDirInStaticModeWithoutClientCa_SaysOnlyTheCaCanApply()
    {
        Touch("tls.crt");
        Touch("tls.key");

        Assert.False(ServeCommand.TryParse(["--endpoints", "10.0.0.1:8000", "--metrics-cert-dir", _dir], out _, out var errors, out _));

        Assert.Contains("only \"metrics-client-ca-file\" can apply", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Serve_CertDirWithAuthOrClientCa_Accepted()
    {
        Touch("tls.crt");
        Touch("tls.key");
        var ca = Touch("ca.crt");

        Assert.True(ServeCommand.TryParse(["--pool-name", "p", "--metrics-cert-dir", _dir], out var kube, out var errors, out _), string.Join("\n", errors));
        Assert.True(ServeCommand.TryParse(["--endpoints", "10.0.0.1:8000", "--metrics-cert-dir", _dir, "--metrics-client-ca-file", ca], out var edge, out errors, out _), string.Join("\n", errors));

        Assert.Equal((_dir, true), (kube.MetricsCertDir, kube.MetricsEndpointAuth));
        Assert.Equal((ca, false), (edge.MetricsClientCaFile, edge.MetricsEndpointAuth));
    }

    [Theory]
    [InlineData(true, "KUBERNETES_SERVICE_HOST")]
    [InlineData(true, "KUBECONFIG")]
    [InlineData(false, null)]
    public void Bbr_MetricsEndpointAuthUnset_OnWhereAnApiServerIsConfigured(bool expected, string? variable)
    {
        Assert.True(BbrCommand.TryParse([], out var parsed, out var errors, out _, name => name == variable ? "set" : null), string.Join("\n", errors));

        Assert.Equal(expected, parsed.Options.MetricsEndpointAuth);
    }

    [Fact]
    public void Bbr_KubeconfigFlag_TurnsTheDefaultOn()
    {
        Assert.True(BbrCommand.TryParse(["--kubeconfig", "/etc/kube/config"], out var parsed, out _, out _, _ => null));

        Assert.True(parsed.Options.MetricsEndpointAuth);
        Assert.Equal("/etc/kube/config", parsed.Options.Kubeconfig);
    }

    [Fact]
    public void Bbr_AuthTrueOutsideACluster_ClearError()
    {
        Assert.False(BbrCommand.TryParse(["--metrics-endpoint-auth=true"], out _, out var errors, out _, _ => null));

        Assert.Contains("not in a cluster, no $KUBECONFIG, no --kubeconfig", Assert.Single(errors), StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Touch(string name)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, "x");
        return path;
    }
}
