using System.Text;

namespace Runtime.ReplicaState;

/// <summary>One endpoint's in-flight load as one replica reports it.</summary>
internal readonly record struct EndpointLoad(string Endpoint, long Requests, long Tokens);

/// <summary>Blocks one replica sent to one endpoint, for the prefix index named <see cref="Index"/>.</summary>
internal sealed record PrefixBlocks(string Index, string Endpoint, int Capacity, ulong[] Hashes);

/// <summary>
/// What one replica publishes in one batch interval: optionally its whole in-flight load (a full
/// snapshot that replaces its previous one; endpoints it omits have none), and the prefix blocks it
/// recorded since its last batch. Encoded compactly (one stream entry field) so that Redis traffic
/// per request stays small: 8 bytes per block plus names.
/// </summary>
internal sealed class ReplicaUpdate
{
    private const byte Version = 1;
    private const byte HasLoad = 1;

    /// <summary>Null when this batch carries no load snapshot (the load did not change).</summary>
    public List<EndpointLoad>? Load { get; set; }

    public List<PrefixBlocks> Prefixes { get; } = [];

    public bool IsEmpty => Load is null && Prefixes.Count == 0;

    public byte[] Encode()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Version);
            writer.Write(Load is null ? (byte)0 : HasLoad);
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
            if ((reader.ReadByte() & HasLoad) != 0)
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
