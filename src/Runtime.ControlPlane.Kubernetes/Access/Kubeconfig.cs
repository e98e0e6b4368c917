using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Runtime.ControlPlane.Kubernetes.Access;

/// <summary>
/// Reads the parts of a kubeconfig we use (current context → cluster server, trust, user token
/// or client certificate) through YamlDotNet's node model: its typed deserializer needs
/// reflection and fails under native AOT.
/// </summary>
internal static class Kubeconfig
{
    public static KubernetesAccess Parse(string yaml, string baseDirectory, string? contextName = null)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = new StringReader(yaml);
            stream.Load(reader);
        }
        catch (YamlException ex)
        {
            throw new KubernetesConfigException($"kubeconfig is not valid YAML: {ex.Message}", ex);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new KubernetesConfigException("kubeconfig is empty or not a mapping");
        }

        contextName ??= Scalar(root, "current-context");
        if (string.IsNullOrEmpty(contextName))
        {
            throw new KubernetesConfigException("kubeconfig has no current-context");
        }

        var context = Named(root, "contexts", "context", contextName)
            ?? throw new KubernetesConfigException($"kubeconfig context \"{contextName}\" not found");
        var clusterName = Scalar(context, "cluster") ?? throw new KubernetesConfigException($"kubeconfig context \"{contextName}\" names no cluster");
        var cluster = Named(root, "clusters", "cluster", clusterName)
            ?? throw new KubernetesConfigException($"kubeconfig cluster \"{clusterName}\" not found");
        var userName = Scalar(context, "user");
        var user = userName is null ? null : Named(root, "users", "user", userName);

        var server = Scalar(cluster, "server");
        if (string.IsNullOrEmpty(server) || !Uri.TryCreate(server, UriKind.Absolute, out var serverUri))
        {
            throw new KubernetesConfigException($"kubeconfig cluster \"{clusterName}\" has no valid server");
        }

        var caPem = Bytes(cluster, "certificate-authority-data", "certificate-authority", baseDirectory);
        var certPem = Bytes(user, "client-certificate-data", "client-certificate", baseDirectory);
        var keyPem = Bytes(user, "client-key-data", "client-key", baseDirectory);
        if ((certPem is null) != (keyPem is null))
        {
            throw new KubernetesConfigException($"kubeconfig user \"{userName}\" needs both a client certificate and its key");
        }

        var tokenFile = Scalar(user, "tokenFile");
        return new KubernetesAccess(serverUri)
        {
            Token = Scalar(user, "token"),
            TokenFile = tokenFile is null ? null : Path.Combine(baseDirectory, tokenFile),
            InsecureSkipTlsVerify = string.Equals(Scalar(cluster, "insecure-skip-tls-verify"), "true", StringComparison.OrdinalIgnoreCase),
            CertificateAuthority = caPem is null ? null : Certificates.LoadAuthority(caPem, $"kubeconfig cluster \"{clusterName}\" certificate authority"),
            ClientCertificate = certPem is null ? null : Certificates.LoadClient(certPem, keyPem!, $"kubeconfig user \"{userName}\""),
            Namespace = Scalar(context, "namespace"),
        };
    }

    /// <summary>The inner mapping of the entry named <paramref name="name"/> in a list like <c>clusters: [{name, cluster: {...}}]</c>.</summary>
    private static YamlMappingNode? Named(YamlMappingNode root, string list, string inner, string name)
    {
        if (!root.Children.TryGetValue(new YamlScalarNode(list), out var node) || node is not YamlSequenceNode entries)
        {
            return null;
        }

        foreach (var entry in entries.OfType<YamlMappingNode>())
        {
            if (Scalar(entry, "name") == name)
            {
                return entry.Children.TryGetValue(new YamlScalarNode(inner), out var value) && value is YamlMappingNode mapping
                    ? mapping
                    : new YamlMappingNode();
            }
        }

        return null;
    }

    private static string? Scalar(YamlMappingNode? mapping, string key) =>
        mapping is not null && mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlScalarNode scalar
            && !string.IsNullOrEmpty(scalar.Value)
            ? scalar.Value
            : null;

    /// <summary>PEM text from an inline base64 <c>*-data</c> field or from the file a path field names.</summary>
    private static string? Bytes(YamlMappingNode? mapping, string dataKey, string fileKey, string baseDirectory)
    {
        if (Scalar(mapping, dataKey) is { } data)
        {
            try
            {
                return Encoding.UTF8.GetString(Convert.FromBase64String(data));
            }
            catch (FormatException ex)
            {
                throw new KubernetesConfigException($"kubeconfig {dataKey} is not base64", ex);
            }
        }

        if (Scalar(mapping, fileKey) is { } file)
        {
            var path = Path.Combine(baseDirectory, file);
            try
            {
                return File.ReadAllText(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new KubernetesConfigException($"kubeconfig {fileKey} {path}: {ex.Message}", ex);
            }
        }

        return null;
    }
}
