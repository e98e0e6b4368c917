using System.Net;

namespace Runtime.Endpoints;

/// <summary>
/// Parses a static endpoint list (standalone mode without a control plane). Entries are separated by
/// commas or new lines; each is <c>host:port</c> followed by optional whitespace-separated
/// <c>key=value</c> labels; <c>#</c> starts a comment. Example:
/// <c>10.0.0.7:8000 inference.networking.k8s.io/engine-type=sglang</c>.
/// </summary>
internal static class StaticEndpointList
{
    /// <summary>Parses every entry; all problems are reported, each with its entry, and nothing is returned unless all are valid.</summary>
    public static bool TryParse(string text, out IReadOnlyList<Endpoint> endpoints, out IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new List<Endpoint>();
        var problems = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var rawLine in text.Split('\n'))
        {
            lineNumber++;
            var line = rawLine;
            var hash = line.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0)
            {
                line = line[..hash];
            }

            foreach (var rawEntry in line.Split(','))
            {
                var entry = rawEntry.Trim();
                if (entry.Length == 0)
                {
                    continue;
                }

                if (TryParseEntry(entry, out var endpoint, out var error))
                {
                    if (seen.Add(endpoint.HostPort))
                    {
                        result.Add(endpoint);
                    }
                    else
                    {
                        problems.Add($"line {lineNumber}: \"{entry}\": duplicate endpoint {endpoint.HostPort}");
                    }
                }
                else
                {
                    problems.Add($"line {lineNumber}: \"{entry}\": {error}");
                }
            }
        }

        endpoints = problems.Count == 0 ? result : [];
        errors = problems;
        return problems.Count == 0;
    }

    private static bool TryParseEntry(string entry, out Endpoint endpoint, out string error)
    {
        endpoint = null!;
        var parts = entry.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (!TryParseHostPort(parts[0], out var address, out var port, out error))
        {
            return false;
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < parts.Length; i++)
        {
            var eq = parts[i].IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                error = $"label \"{parts[i]}\" is not key=value";
                return false;
            }

            labels[parts[i][..eq]] = parts[i][(eq + 1)..];
        }

        endpoint = new Endpoint(string.Empty, address, port, labels);
        return true;
    }

    private static bool TryParseHostPort(string text, out string address, out int port, out string error)
    {
        address = string.Empty;
        port = 0;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            error = "expected host:port";
            return false;
        }

        var host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (!int.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            error = $"port \"{text[(colon + 1)..]}\" is not in 1-65535";
            return false;
        }

        // Envoy's ORIGINAL_DST cluster needs an IP; a host name in the destination header would not route.
        if (!IPAddress.TryParse(host, out _))
        {
            error = $"\"{host}\" is not an IP address";
            return false;
        }

        address = host;
        error = string.Empty;
        return true;
    }
}
