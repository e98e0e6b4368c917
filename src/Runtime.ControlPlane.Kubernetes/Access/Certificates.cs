using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Runtime.ControlPlane.Kubernetes.Access;

internal static class Certificates
{
    /// <summary>Every certificate of a PEM bundle (a CA file may hold several).</summary>
    public static X509Certificate2Collection LoadAuthority(string pem, string what)
    {
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            throw new KubernetesConfigException($"{what}: not a PEM certificate bundle: {ex.Message}", ex);
        }

        if (roots.Count == 0)
        {
            throw new KubernetesConfigException($"{what}: holds no PEM certificate");
        }

        return roots;
    }

    public static X509Certificate2 LoadClient(string certificatePem, string keyPem, string what)
    {
        try
        {
            return X509Certificate2.CreateFromPem(certificatePem, keyPem);
        }
        catch (CryptographicException ex)
        {
            throw new KubernetesConfigException($"{what}: bad client certificate or key: {ex.Message}", ex);
        }
    }
}
