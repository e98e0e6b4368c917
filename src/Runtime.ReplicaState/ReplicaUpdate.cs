using System.Text;

namespace Runtime.ReplicaState;

/// <summary>One endpoint's in-flight load as one replica reports it.</summary>
internal readonly record struct EndpointLoad(string Endpoint, long Requests, long Tokens);

/// <summary>One fairness flow's attained service in one replica's usage-keyed fairness policy (by plugin name).</summary>
internal readonly record struct FlowUsageEntry(string Policy, string FairnessId, double Service);

/// <summary>Blocks one replica sent to one endpoint, for the prefix index named <see cref="Index"/>.</summary>
internal sealed record PrefixBlocks(string Index, string Endpoint, int Capacity, ulong[] Hashes);

/// <summary>
/// What one replica publishes in one batch interval: optionally its whole in-flight load (a full
/// snapshot that replaces its previous one; endpoints it omits have none), and the prefix blocks it
/// recorded since its last batch, and optionally its whole per-fairness-flow usage (also a full
/// snapshot; appended after the prefixes and flagged, so a build that predates it reads the rest and
/// skips it). Encoded compactly (one stream entry field) so that Redis traffic
/// per request stays small: 8 bytes per block plus names.
/// </summary>
internal sealed class ReplicaUpdate
{
    private const byte Version = 1;
    private const byte HasLoad = 1;
    private const byte HasUsage = 2;

    /// <summary>Null when this batch carries no load snapshot (the load did not change).</summary>
    public List<EndpointLoad>? Load { get; set; }

    public List<PrefixBlocks> Prefixes { get; } = [];

    /// <summary>Null when this batch carries no usage snapshot (it did not change).</summary>
    public List<FlowUsageEntry>? Usage { get; set; }

    public bool IsEmpty => Load is null && Prefixes.Count == 0 && Usage is null;

    public byte[] Encode()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Version);
            writer.Write((byte)((Load is null ? 0 : HasLoad) | (Usage is null ? 0 : HasUsage)));
            if (Load is not null)
            {
                writer.Write7BitEncodedInt(Load.Count);
                foreach (var load in Load)
                {
                    writer.Write(load.Endpoint);
                    writer.Write7BitEncodedInt64(load.Requests);
                    writer.Write7BitEncodedInt64(load.Tokens);
                }
            }

            writer.Write7BitEncodedInt(Prefixes.Count);
            foreach (var blocks in Prefixes)
            {
                writer.Write(blocks.Index);
                writer.Write(blocks.Endpoint);
                writer.Write7BitEncodedInt(blocks.Capacity);
                writer.Write7BitEncodedInt(blocks.Hashes.Length);
                foreach (var hash in blocks.Hashes)
                {
                    writer.Write(hash);
                }
            }

            if (Usage is not null)
            {
                writer.Write7BitEncodedInt(Usage.Count);
                foreach (var usage in Usage)
                {
                    writer.Write(usage.Policy);
                    writer.Write(usage.FairnessId);
                    writer.Write(usage.Service);
                }
            }
        }

        return stream.ToArray();
    }

    /// <summary>Decodes an entry; throws <see cref="FormatException"/> when it is not one we wrote.</summary>
    public static ReplicaUpdate Decode(byte[] payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        try
        {
            using var reader = new BinaryReader(new MemoryStream(payload, writable: false), Encoding.UTF8);
            if (reader.ReadByte() != Version)
            {
                throw new FormatException("unknown replica-state entry version");
            }

            var update = new ReplicaUpdate();
            var flags = reader.ReadByte();
            if ((flags & HasLoad) != 0)
            {
                var count = Count(reader, payload.Length);
                update.Load = new List<EndpointLoad>(count);
                for (var i = 0; i < count; i++)
                {
                    update.Load.Add(new EndpointLoad(reader.ReadString(), reader.Read7BitEncodedInt64(), reader.Read7BitEncodedInt64()));
                }
            }

            var batches = Count(reader, payload.Length);
            for (var i = 0; i < batches; i++)
            {
                var index = reader.ReadString();
                var endpoint = reader.ReadString();
                var capacity = reader.Read7BitEncodedInt();
                var hashes = new ulong[Count(reader, payload.Length / sizeof(ulong))];
                for (var h = 0; h < hashes.Length; h++)
                {
                    hashes[h] = reader.ReadUInt64();
                }

                update.Prefixes.Add(new PrefixBlocks(index, endpoint, capacity, hashes));
            }

            if ((flags & HasUsage) != 0)
            {
                var count = Count(reader, payload.Length);
                update.Usage = new List<FlowUsageEntry>(count);
                for (var i = 0; i < count; i++)
                {
                    var entry = new FlowUsageEntry(reader.ReadString(), reader.ReadString(), reader.ReadDouble());
                    if (!double.IsFinite(entry.Service) || entry.Service < 0)
                    {
                        throw new FormatException("replica-state flow usage out of range");
                    }

                    update.Usage.Add(entry);
                }
            }

            return update;
        }
        catch (EndOfStreamException ex)
        {
            throw new FormatException("truncated replica-state entry", ex);
        }
    }

    private static int Count(BinaryReader reader, int max)
    {
        var count = reader.Read7BitEncodedInt();
        return count >= 0 && count <= max ? count : throw new FormatException("replica-state entry count out of range");
    }
}
