using System.Text;

namespace Runtime.Endpoints;

/// <summary>
/// One schedulable target: a model-server pod's address and one of its target ports. Immutable;
/// a changed label or address is a new <see cref="Endpoint"/>.
/// </summary>
public sealed class Endpoint : IEquatable<Endpoint>
{
    /// <summary>The label that names the model-server engine (vllm, sglang, trtllm, triton).</summary>
    public const string EngineTypeLabel = "inference.networking.k8s.io/engine-type";

    public const string DefaultEngineType = "vllm";

    private static readonly IReadOnlyDictionary<string, string> s_noLabels = new Dictionary<string, string>(StringComparer.Ordinal);

    public Endpoint(string name, string address, int port, IReadOnlyDictionary<string, string>? labels = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        Name = string.IsNullOrEmpty(name) ? FormatHostPort(address, port) : name;
        Address = address;
        Port = port;
        PortText = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Labels = labels ?? s_noLabels;
        HostPort = FormatHostPort(address, port);
        HostPortUtf8 = Encoding.UTF8.GetBytes(HostPort);
        EngineType = Labels.TryGetValue(EngineTypeLabel, out var engine) && engine.Length > 0 ? engine : DefaultEngineType;
    }

    /// <summary>Unique name: <c>&lt;pod&gt;-rank-&lt;i&gt;</c> from Kubernetes, or <c>ip:port</c> for static endpoints.</summary>
    public string Name { get; }

    public string Address { get; }

    public int Port { get; }

    /// <summary><see cref="Port"/> as text, formatted once (a metric label on the request path).</summary>
    public string PortText { get; }

    public IReadOnlyDictionary<string, string> Labels { get; }

    /// <summary><c>ip:port</c> (IPv6 in brackets), as the destination header and metadata carry it.</summary>
    public string HostPort { get; }

    /// <summary><see cref="HostPort"/> encoded once, so building the destination header copies bytes only.</summary>
    public ReadOnlyMemory<byte> HostPortUtf8 { get; }

    /// <summary>The engine whose metric names this endpoint publishes (from <see cref="EngineTypeLabel"/>).</summary>
    public string EngineType { get; }

    public static string FormatHostPort(string address, int port) =>
        address.Contains(':', StringComparison.Ordinal) && !address.StartsWith('[') ? $"[{address}]:{port}" : $"{address}:{port}";

    public bool Equals(Endpoint? other) =>
        other is not null && (ReferenceEquals(this, other) ||
            (Name == other.Name && Address == other.Address && Port == other.Port && SameLabels(Labels, other.Labels)));

    public override bool Equals(object? obj) => Equals(obj as Endpoint);

    public override int GetHashCode() => HashCode.Combine(Name, Address, Port);

    public override string ToString() => Name == HostPort ? HostPort : $"{Name} ({HostPort})";

    private static bool SameLabels(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        foreach (var (key, value) in a)
        {
            if (!b.TryGetValue(key, out var other) || other != value)
            {
                return false;
            }
        }

        return true;
    }
}
