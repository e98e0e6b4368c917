using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Runtime.Transport.Hosting;

/// <summary>
/// The CA bundle client certificates must chain to (Go's <c>tls.RequireAndVerifyClientCert</c> with
/// <c>ClientCAs</c>): only these roots are trusted, and a leaf that names its extended key usages
/// must allow client authentication.
/// </summary>
internal sealed class ClientCertificateAuthority : IDisposable
{
    private static readonly Oid s_clientAuthentication = new("1.3.6.1.5.5.7.3.2");
    private readonly X509Certificate2Collection _roots;

    private ClientCertificateAuthority(X509Certificate2Collection roots) => _roots = roots;

    public int Count => _roots.Count;

    /// <exception cref="InvalidOperationException">The file cannot be read or holds no certificate (llm-d's messages).</exception>
    public static ClientCertificateAuthority Load(string path)
    {
        string pem;
        try
        {
            pem = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"reading metrics client CA {path}: {ex.Message}", ex);
        }

        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPem(pem);
        }
        catch (CryptographicException)
        {
            roots.Clear();
        }

        if (roots.Count == 0)
        {
            throw new InvalidOperationException($"no valid CA certs in metrics client CA file: {path}");
        }

        return new ClientCertificateAuthority(roots);
    }

    /// <summary>True when <paramref name="certificate"/> chains to one of the roots (with the intermediates the client sent).</summary>
    public bool Verify(X509Certificate2 certificate, X509Chain? presented)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(s_clientAuthentication);
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                if (!element.Certificate.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span))
                {
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }
        }

        return chain.Build(certificate);
    }

    public void Dispose()
    {
        foreach (var root in _roots)
        {
            root.Dispose();
        }
    }
}
