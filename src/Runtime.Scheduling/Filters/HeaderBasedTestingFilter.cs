using System.Text;
using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Scheduling.Framework;

namespace Runtime.Scheduling.Filters;

/// <summary>
/// <c>header-based-testing-filter</c> (GIE v1.5.0's conformance filter): keeps the endpoints the
/// <c>test-epp-endpoint-selection</c> header lists, as comma-separated <c>IP</c> (any port of that
/// address) or <c>IP:port</c> (exactly that endpoint), in header order, one per address. No header
/// (or an empty one) keeps nothing, so the request is refused as GIE refuses it.
/// </summary>
internal sealed class HeaderBasedTestingFilter(string name) : IFilter
{
    public const string HeaderName = "test-epp-endpoint-selection";

    private static readonly byte[] s_header = Encoding.ASCII.GetBytes(HeaderName);

    public string TypeName => BuiltInPlugins.HeaderBasedTestingFilter;

    public string Name { get; } = name;

    public int Filter(SchedulingContext context, SchedulingRequest request, Span<EndpointState> candidates)
    {
        if (request.Headers is null || !request.Headers.TryGetValue(s_header, out var raw) || raw.Trim((byte)' ').IsEmpty)
        {
            return 0;
        }

        // Rare path (conformance tests only): clarity over allocation.
        var value = Encoding.UTF8.GetString(raw);
        var kept = new List<EndpointState>();
        var seenAddresses = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var (host, port) = Split(item);
            EndpointState? match = null;
            foreach (var candidate in candidates)
            {
                var endpoint = candidate.Endpoint;
                if (string.Equals(Normalize(endpoint.Address), host, StringComparison.OrdinalIgnoreCase) && (port is null || endpoint.Port == port))
                {
                    match = candidate;
                    break;
                }
            }

            if (match is not null && seenAddresses.Add(Normalize(match.Endpoint.Address)))
            {
                kept.Add(match);
            }
        }

        for (var i = 0; i < kept.Count; i++)
        {
            candidates[i] = kept[i];
        }

        return kept.Count;
    }

    /// <summary>"10.0.0.1:8000" → (10.0.0.1, 8000); "[::1]:8000" → (::1, 8000); "10.0.0.1" or "::1" → (address, any port).</summary>
    private static (string Host, int? Port) Split(string item)
    {
        if (item.StartsWith('['))
        {
            var close = item.IndexOf(']', StringComparison.Ordinal);
            if (close > 0)
            {
                var rest = item[(close + 1)..];
                return (item[1..close], rest.StartsWith(':') && int.TryParse(rest[1..], out var bracketPort) ? bracketPort : null);
            }
        }

        var colon = item.LastIndexOf(':');
        if (colon > 0 && item.IndexOf(':', StringComparison.Ordinal) == colon && int.TryParse(item[(colon + 1)..], out var port))
        {
            return (item[..colon], port);
        }

        return (Normalize(item), null);
    }

    private static string Normalize(string address) => address.Trim('[', ']');
}
