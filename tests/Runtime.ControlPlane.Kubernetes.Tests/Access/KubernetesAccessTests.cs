using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Runtime.ControlPlane.Kubernetes.Access;

namespace Runtime.ControlPlane.Kubernetes.Tests.Access;

public sealed class KubernetesAccessTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("kube-access-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public void FromKubeconfig_TokenUser_ReadsServerTokenAndNamespace()
    {
        var path = Write("config", Kubeconfig(cluster: "server: https://10.1.2.3:6443", user: "token: abc.def"));

        var access = KubernetesAccess.FromKubeconfig(path);

        Assert.Equal(new Uri("https://10.1.2.3:6443"), access.Server);
        Assert.Equal("abc.def", access.Token);
        Assert.Equal("team-a", access.Namespace);
        Assert.Null(access.CertificateAuthority);
        Assert.False(access.InsecureSkipTlsVerify);
    }

    [Fact]
    public void FromKubeconfig_CertificateAuthorityData_LoadsTheRoot()
    {
        using var ca = SelfSigned("CN=test-ca", out _);
        var data = Convert.ToBase64String(Encoding.UTF8.GetBytes(ca.ExportCertificatePem()));
        var path = Write("config", Kubeconfig(cluster: $"server: https://kube:6443\n    certificate-authority-data: {data}", user: "token: t"));

        var access = KubernetesAccess.FromKubeconfig(path);

        var root = Assert.Single(access.CertificateAuthority!);
        Assert.Equal(ca.Thumbprint, root.Thumbprint);
    }

    [Fact]
    public void FromKubeconfig_CertificateAuthorityFile_IsRelativeToTheKubeconfig()
    {
        using var ca = SelfSigned("CN=file-ca", out _);
        Write("ca.pem", ca.ExportCertificatePem());
        var path = Write("config", Kubeconfig(cluster: "server: https://kube:6443\n    certificate-authority: ca.pem", user: "token: t"));

        var access = KubernetesAccess.FromKubeconfig(path);

        Assert.Equal(ca.Thumbprint, Assert.Single(access.CertificateAuthority!).Thumbprint);
    }

    [Fact]
    public void FromKubeconfig_Insecure_SkipsVerification()
    {
        var path = Write("config", Kubeconfig(cluster: "server: https://kube:6443\n    insecure-skip-tls-verify: true", user: "token: t"));

        Assert.True(KubernetesAccess.FromKubeconfig(path).InsecureSkipTlsVerify);
    }

    [Fact]
    public void FromKubeconfig_ClientCertificateData_LoadsCertificateWithKey()
    {
        using var client = SelfSigned("CN=developer", out var key);
        var cert = Convert.ToBase64String(Encoding.UTF8.GetBytes(client.ExportCertificatePem()));
        var keyData = Convert.ToBase64String(Encoding.UTF8.GetBytes(key));
        var path = Write("config", Kubeconfig(
            cluster: "server: https://kube:6443",
            user: $"client-certificate-data: {cert}\n    client-key-data: {keyData}"));

        var access = KubernetesAccess.FromKubeconfig(path);

        Assert.NotNull(access.ClientCertificate);
        Assert.True(access.ClientCertificate!.HasPrivateKey);
        Assert.Equal("CN=developer", access.ClientCertificate.Subject);
        Assert.Null(access.Token);
    }

    [Fact]
    public void FromKubeconfig_NamedContext_OverridesCurrent()
    {
        var path = Write("config", """
            apiVersion: v1
            kind: Config
            current-context: one
            contexts:
            - name: one
              context: {cluster: first, user: dev}
            - name: two
              context: {cluster: second, user: dev, namespace: other}
            clusters:
            - name: first
              cluster: {server: "https://one:6443"}
            - name: second
              cluster: {server: "https://two:6443"}
            users:
            - name: dev
              user: {token: t}
            """);

        var access = KubernetesAccess.FromKubeconfig(path, "two");

        Assert.Equal(new Uri("https://two:6443"), access.Server);
        Assert.Equal("other", access.Namespace);
    }

    [Theory]
    [InlineData("current-context: missing\ncontexts: []\n", "missing")]
    [InlineData("kind: Config\n", "current-context")]
    [InlineData("current-context: c\ncontexts:\n- name: c\n  context: {cluster: x}\nclusters: []\n", "cluster \"x\"")]
    [InlineData("{ not: [yaml", "YAML")]
    public void FromKubeconfig_Broken_ThrowsWithTheReason(string yaml, string expected)
    {
        var path = Write("config", yaml);

        var error = Assert.Throws<KubernetesConfigException>(() => KubernetesAccess.FromKubeconfig(path));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromKubeconfig_MissingFile_Throws()
    {
        Assert.Throws<KubernetesConfigException>(() => KubernetesAccess.FromKubeconfig(Path.Combine(_directory.FullName, "nope")));
    }

    [Fact]
    public void InCluster_ServiceAccountDirectory_ReadsEverything()
    {
        using var ca = SelfSigned("CN=cluster-ca", out _);
        Write("token", "sa-token\n");
        Write("ca.crt", ca.ExportCertificatePem());
        Write("namespace", "inference\n");
        var paths = new InClusterPaths
        {
            ServiceAccountDirectory = _directory.FullName,
            Environment = Env(("KUBERNETES_SERVICE_HOST", "10.96.0.1"), ("KUBERNETES_SERVICE_PORT", "443")),
        };

        var access = KubernetesAccess.InCluster(paths);

        Assert.Equal(new Uri("https://10.96.0.1:443"), access.Server);
        Assert.Equal(Path.Combine(_directory.FullName, "token"), access.TokenFile);
        Assert.Null(access.Token);
        Assert.Equal("inference", access.Namespace);
        Assert.Equal(ca.Thumbprint, Assert.Single(access.CertificateAuthority!).Thumbprint);
    }

    [Fact]
    public void InCluster_Ipv6Host_IsBracketed()
    {
        Write("token", "t");
        var paths = new InClusterPaths
        {
            ServiceAccountDirectory = _directory.FullName,
            Environment = Env(("KUBERNETES_SERVICE_HOST", "fd00::1"), ("KUBERNETES_SERVICE_PORT", "443")),
        };

        Assert.Equal("[fd00::1]", KubernetesAccess.InCluster(paths).Server.Host);
    }

    [Fact]
    public void InCluster_NoEnvironment_Throws()
    {
        var paths = new InClusterPaths { ServiceAccountDirectory = _directory.FullName, Environment = Env() };

        Assert.Throws<KubernetesConfigException>(() => KubernetesAccess.InCluster(paths));
    }

    [Fact]
    public void Resolve_PrefersExplicitKubeconfigThenInClusterThenEnvironment()
    {
        var explicitPath = Write("explicit", Kubeconfig(cluster: "server: https://explicit:6443", user: "token: t"));
        var fromEnv = Write("env", Kubeconfig(cluster: "server: https://env:6443", user: "token: t"));
        Write("token", "t");
        var inCluster = new InClusterPaths
        {
            ServiceAccountDirectory = _directory.FullName,
            Environment = Env(("KUBERNETES_SERVICE_HOST", "10.0.0.1"), ("KUBERNETES_SERVICE_PORT", "443"), ("KUBECONFIG", fromEnv)),
        };
        var outside = inCluster with { Environment = Env(("KUBECONFIG", fromEnv + Path.PathSeparator + explicitPath)) };
        var home = inCluster with { Environment = Env(("HOME", _directory.FullName)) };
        Directory.CreateDirectory(Path.Combine(_directory.FullName, ".kube"));
        File.Copy(explicitPath, Path.Combine(_directory.FullName, ".kube", "config"));

        Assert.Equal("explicit", KubernetesAccess.Resolve(explicitPath, inCluster).Server.Host);
        Assert.Equal("10.0.0.1", KubernetesAccess.Resolve(null, inCluster).Server.Host);
        Assert.Equal("env", KubernetesAccess.Resolve(null, outside).Server.Host);
        Assert.Equal("explicit", KubernetesAccess.Resolve(null, home).Server.Host);
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static Func<string, string?> Env(params (string Name, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Name == name).Value;

    private static string Kubeconfig(string cluster, string user) => $"""
        apiVersion: v1
        kind: Config
        current-context: dev
        contexts:
        - name: dev
          context:
            cluster: kind
            user: developer
            namespace: team-a
        clusters:
        - name: kind
          cluster:
            {cluster}
        users:
        - name: developer
          user:
            {user}
        """;

    private static X509Certificate2 SelfSigned(string subject, out string keyPem)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        keyPem = key.ExportPkcs8PrivateKeyPem();
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }
}
