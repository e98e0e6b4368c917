using System.Net.Security;
using System.Security.Authentication;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Runtime.Transport.Hosting;

/// <summary>
/// The TLS versions and cipher suites a secure listener accepts, from the llm-d router's
/// <c>--tls-min-version</c> and <c>--tls-cipher-suites</c> (Go <c>crypto/tls</c> names). As in Go,
/// the suites constrain TLS 1.2 and below only: the TLS 1.3 suites stay on whatever is listed.
/// </summary>
internal sealed class TlsPolicy
{
    private static readonly Dictionary<string, SslProtocols> s_versions = new(StringComparer.Ordinal)
    {
#pragma warning disable SYSLIB0039, CA5397 // Go accepts VersionTLS10/11 as a minimum; the system's OpenSSL policy may still refuse them.
        ["VersionTLS10"] = SslProtocols.Tls | SslProtocols.Tls11 | SslProtocols.Tls12 | SslProtocols.Tls13,
        ["VersionTLS11"] = SslProtocols.Tls11 | SslProtocols.Tls12 | SslProtocols.Tls13,
#pragma warning restore SYSLIB0039, CA5397
        ["VersionTLS12"] = SslProtocols.Tls12 | SslProtocols.Tls13,
        ["VersionTLS13"] = SslProtocols.Tls13,
    };

    /// <summary>Go's <c>tls.CipherSuites()</c> and <c>tls.InsecureCipherSuites()</c>, by the names Go gives them (the IANA names).</summary>
    private static readonly Dictionary<string, TlsCipherSuite> s_suites = new TlsCipherSuite[]
    {
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_RSA_WITH_RC4_128_SHA,
        TlsCipherSuite.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
        TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA,
        TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA,
        TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA256,
        TlsCipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_RC4_128_SHA,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
    }.ToDictionary(suite => suite.ToString(), StringComparer.Ordinal);

    private static readonly TlsCipherSuite[] s_tls13Suites =
        [TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_256_GCM_SHA384, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256];

    private readonly CipherSuitesPolicy? _cipherSuitesPolicy;

    private TlsPolicy(SslProtocols protocols, IReadOnlyList<TlsCipherSuite> cipherSuites)
    {
        Protocols = protocols;
        CipherSuites = cipherSuites;
        if (cipherSuites.Count > 0 && (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()))
        {
            // OpenSSL takes one list for every version: keep TLS 1.3 possible, as Go does.
            _cipherSuitesPolicy = new CipherSuitesPolicy(cipherSuites.Where(s => Array.IndexOf(s_tls13Suites, s) < 0).Concat(s_tls13Suites));
        }
    }

    /// <summary>The platform's defaults (TLS 1.2 and 1.3, its suites), as Go's server defaults.</summary>
    public static TlsPolicy Default { get; } = new(SslProtocols.None, []);

    /// <summary>The accepted versions; <see cref="SslProtocols.None"/> leaves the choice to the platform.</summary>
    public SslProtocols Protocols { get; }

    /// <summary>The TLS 1.2-and-below suites to offer, in order; empty keeps the platform's.</summary>
    public IReadOnlyList<TlsCipherSuite> CipherSuites { get; }

    /// <summary>Go's version names, for messages.</summary>
    public static string VersionNames => string.Join(", ", s_versions.Keys);

    /// <summary>
    /// Parses <c>--tls-min-version</c> (empty: the default) and the <c>--tls-cipher-suites</c>
    /// names (blank entries skipped); every problem is reported, with the llm-d router's texts.
    /// </summary>
    public static bool TryParse(string? minVersion, IEnumerable<string> cipherSuites, out TlsPolicy policy, out IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(cipherSuites);
        policy = Default;
        var problems = new List<string>();
        errors = problems;
        var protocols = SslProtocols.None;
        if (!string.IsNullOrEmpty(minVersion) && !s_versions.TryGetValue(minVersion, out protocols))
        {
            problems.Add($"invalid tls-min-version \"{minVersion}\": unknown TLS version \"{minVersion}\"; supported values: {VersionNames}");
        }

        var suites = new List<TlsCipherSuite>();
        foreach (var raw in cipherSuites)
        {
            var name = raw.Trim();
            if (name.Length == 0)
            {
                continue;
            }

            if (s_suites.TryGetValue(name, out var suite))
            {
                suites.Add(suite);
            }
            else
            {
                problems.Add($"invalid tls-cipher-suites: unknown cipher suite \"{name}\"");
            }
        }

        if (suites.Count > 0 && !CipherSuitesPolicySupported)
        {
            problems.Add("--tls-cipher-suites: choosing cipher suites is not supported on this platform (Linux and macOS only)");
        }

        if (problems.Count > 0)
        {
            return false;
        }

        policy = protocols == SslProtocols.None && suites.Count == 0 ? Default : new TlsPolicy(protocols, suites);
        return true;
    }

    /// <summary>Applies the versions and suites to a Kestrel HTTPS listener.</summary>
    public void ApplyTo(HttpsConnectionAdapterOptions https)
    {
        ArgumentNullException.ThrowIfNull(https);
        if (Protocols != SslProtocols.None)
        {
            https.SslProtocols = Protocols;
        }

        if (_cipherSuitesPolicy is { } policy)
        {
            var previous = https.OnAuthenticate;
            https.OnAuthenticate = (connection, ssl) =>
            {
                previous?.Invoke(connection, ssl);
                if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
                {
                    ssl.CipherSuitesPolicy = policy;
                }
            };
        }
    }

    private static bool CipherSuitesPolicySupported => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS();
}
