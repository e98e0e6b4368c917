using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Runtime.ControlPlane.Kubernetes.Access;

/// <summary>
/// How to reach one API server: its address, how to trust it, and who we are. Built from the
/// in-cluster service account files (<see cref="InCluster"/>) or a kubeconfig
/// (<see cref="FromKubeconfig"/>); <see cref="Resolve"/> picks the one that applies.
/// </summary>
internal sealed record KubernetesAccess(Uri Server)
{
    public const string DefaultServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>A fixed bearer token (kubeconfig <c>token</c>).</summary>
    public string? Token { get; init; }

    /// <summary>A file holding the bearer token, re-read every <see cref="TokenRefreshInterval"/> and on 401 (projected tokens rotate).</summary>
    public string? TokenFile { get; init; }

    public TimeSpan TokenRefreshInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Roots that the server certificate must chain to; null trusts the system store.</summary>
    public X509Certificate2Collection? CertificateAuthority { get; init; }

    public X509Certificate2? ClientCertificate { get; init; }

    public bool InsecureSkipTlsVerify { get; init; }

    /// <summary>The namespace this identity lives in (in-cluster namespace file, kubeconfig context namespace).</summary>
    public string? Namespace { get; init; }

    /// <summary>
    /// Picks the access: an explicit <paramref name="kubeconfigPath"/> wins; otherwise in-cluster when
    /// <c>KUBERNETES_SERVICE_HOST</c> is set; otherwise <c>$KUBECONFIG</c> (its first file) or <c>~/.kube/config</c>.
    /// </summary>
    public static KubernetesAccess Resolve(string? kubeconfigPath = null, InClusterPaths? inCluster = null)
    {
        if (!string.IsNullOrEmpty(kubeconfigPath))
        {
            return FromKubeconfig(kubeconfigPath);
        }

        inCluster ??= new InClusterPaths();
        if (!string.IsNullOrEmpty(inCluster.Environment("KUBERNETES_SERVICE_HOST")))
        {
            return InCluster(inCluster);
        }

        var fromEnvironment = inCluster.Environment("KUBECONFIG");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            var first = fromEnvironment.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            if (first is not null)
            {
                return FromKubeconfig(first);
            }
        }

        var home = inCluster.Environment("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return FromKubeconfig(Path.Combine(home, ".kube", "config"));
    }

    /// <summary>The pod's own service account: API server from the environment, token, CA and namespace from files.</summary>
    public static KubernetesAccess InCluster(InClusterPaths? paths = null)
    {
        paths ??= new InClusterPaths();
        var host = paths.Environment("KUBERNETES_SERVICE_HOST");
        var port = paths.Environment("KUBERNETES_SERVICE_PORT");
        if (string.IsNullOrEmpty(host) || string.IsNullOrEmpty(port))
        {
            throw new KubernetesConfigException("not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
        }

        var tokenFile = Path.Combine(paths.ServiceAccountDirectory, "token");
        if (!File.Exists(tokenFile))
        {
            throw new KubernetesConfigException($"in-cluster token file {tokenFile} does not exist");
        }

        var caFile = Path.Combine(paths.ServiceAccountDirectory, "ca.crt");
        var namespaceFile = Path.Combine(paths.ServiceAccountDirectory, "namespace");
        // An IPv6 service host needs brackets in a URI.
        var hostPart = host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;
        return new KubernetesAccess(new Uri($"https://{hostPart}:{port}"))
        {
            TokenFile = tokenFile,
            CertificateAuthority = File.Exists(caFile) ? Certificates.LoadAuthority(File.ReadAllText(caFile), caFile) : null,
            Namespace = File.Exists(namespaceFile) ? File.ReadAllText(namespaceFile).Trim() : null,
        };
    }

    /// <summary>The current context (or <paramref name="context"/>) of a kubeconfig file.</summary>
    public static KubernetesAccess FromKubeconfig(string path, string? context = null)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KubernetesConfigException($"cannot read kubeconfig {path}: {ex.Message}", ex);
        }

        return Kubeconfig.Parse(text, Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", context);
    }

    /// <summary>The handler every request to this server goes through: TLS trust and client certificate.</summary>
    internal SocketsHttpHandler CreateHandler()
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        };
        if (ClientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [ClientCertificate];
        }

        var insecure = InsecureSkipTlsVerify;
        var roots = CertificateAuthority;
        if (insecure || roots is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                insecure || errors == SslPolicyErrors.None || (roots is not null && ChainsTo(certificate, errors, roots));
        }

        return handler;
    }

    private static bool ChainsTo(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        // Only the chain may fail against the system store; a name mismatch stays fatal.
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        try
        {
            return chain.Build(leaf);
        }
        finally
        {
            if (!ReferenceEquals(leaf, certificate))
            {
                leaf.Dispose();
            }
        }
    }
}

/// <summary>Where in-cluster access reads its files and environment (injectable for tests).</summary>
internal sealed record InClusterPaths
{
    public string ServiceAccountDirectory { get; init; } = KubernetesAccess.DefaultServiceAccountDirectory;

    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;
}

/// <summary>The cluster access configuration is missing or malformed.</summary>
internal sealed class KubernetesConfigException : Exception
{
    public KubernetesConfigException()
    {
    }

    public KubernetesConfigException(string message)
        : base(message)
    {
    }

    public KubernetesConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
