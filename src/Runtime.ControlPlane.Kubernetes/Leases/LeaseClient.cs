using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Runtime.ControlPlane.Kubernetes.Api;

namespace Runtime.ControlPlane.Kubernetes.Leases;

/// <summary>
/// What a <c>coordination.k8s.io/v1</c> Lease says about its holder, with the resourceVersion an
/// update must name (client-go's LeaderElectionRecord, read from and written to the Lease spec).
/// </summary>
internal sealed record LeaseRecord(string HolderIdentity, int LeaseDurationSeconds, DateTimeOffset? AcquireTime, DateTimeOffset? RenewTime, int LeaseTransitions)
{
    /// <summary>The object's resourceVersion when read; empty for a record not yet stored.</summary>
    public string ResourceVersion { get; init; } = string.Empty;
}

/// <summary>Reads, creates and updates one Lease (the leases lock client-go's leader election uses).</summary>
internal sealed class LeaseClient(KubernetesApiClient api, string @namespace, string name)
{
    /// <summary>The MicroTime layout Kubernetes writes (RFC 3339 with microseconds).</summary>
    private const string MicroTime = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    public string Namespace => @namespace;

    public string Name => name;

    private string Collection => $"/apis/coordination.k8s.io/v1/namespaces/{Uri.EscapeDataString(@namespace)}/leases";

    private string Item => $"{Collection}/{Uri.EscapeDataString(name)}";

    /// <summary>The Lease, or null when it does not exist (404).</summary>
    public async Task<LeaseRecord?> GetAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var document = await api.GetJsonAsync(Item, cancellationToken).ConfigureAwait(false);
            return Parse(document.RootElement);
        }
        catch (KubernetesApiException ex) when (ex.StatusCode == 404)
        {
            return null;
        }
    }

    /// <summary>Creates the Lease; a <see cref="KubernetesApiException"/> with 409 when another replica created it first.</summary>
    public async Task<LeaseRecord> CreateAsync(LeaseRecord record, CancellationToken cancellationToken)
    {
        using var document = await api.PostJsonAsync(Collection, Serialize(record), cancellationToken).ConfigureAwait(false);
        return Parse(document.RootElement);
    }

    /// <summary>Replaces the Lease's spec, naming <see cref="LeaseRecord.ResourceVersion"/>; 409 when someone wrote it since.</summary>
    public async Task<LeaseRecord> UpdateAsync(LeaseRecord record, CancellationToken cancellationToken)
    {
        using var document = await api.PutJsonAsync(Item, Serialize(record), cancellationToken).ConfigureAwait(false);
        return Parse(document.RootElement);
    }

    internal byte[] Serialize(LeaseRecord record)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("apiVersion", "coordination.k8s.io/v1");
            writer.WriteString("kind", "Lease");
            writer.WriteStartObject("metadata");
            writer.WriteString("name", name);
            writer.WriteString("namespace", @namespace);
            if (record.ResourceVersion.Length > 0)
            {
                writer.WriteString("resourceVersion", record.ResourceVersion);
            }

            writer.WriteEndObject();
            writer.WriteStartObject("spec");
            writer.WriteString("holderIdentity", record.HolderIdentity);
            writer.WriteNumber("leaseDurationSeconds", record.LeaseDurationSeconds);
            if (record.AcquireTime is { } acquired)
            {
                writer.WriteString("acquireTime", acquired.UtcDateTime.ToString(MicroTime, CultureInfo.InvariantCulture));
            }

            if (record.RenewTime is { } renewed)
            {
                writer.WriteString("renewTime", renewed.UtcDateTime.ToString(MicroTime, CultureInfo.InvariantCulture));
            }

            writer.WriteNumber("leaseTransitions", record.LeaseTransitions);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    internal static LeaseRecord Parse(JsonElement lease)
    {
        var spec = Property(lease, "spec");
        return new LeaseRecord(
            String(spec, "holderIdentity"),
            Property(spec, "leaseDurationSeconds") is { ValueKind: JsonValueKind.Number } d && d.TryGetInt32(out var seconds) ? seconds : 0,
            Time(spec, "acquireTime"),
            Time(spec, "renewTime"),
            Property(spec, "leaseTransitions") is { ValueKind: JsonValueKind.Number } t && t.TryGetInt32(out var transitions) ? transitions : 0)
        {
            ResourceVersion = String(Property(lease, "metadata"), "resourceVersion"),
        };
    }

    private static DateTimeOffset? Time(JsonElement element, string name) =>
        DateTimeOffset.TryParse(String(element, name), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value) ? value : null;

    private static JsonElement Property(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : default;

    private static string String(JsonElement element, string name) =>
        Property(element, name) is { ValueKind: JsonValueKind.String } value ? value.GetString()! : string.Empty;
}
