using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Runtime.Scheduling.Prefix;

/// <summary>
/// Splits a prompt into fixed-size blocks and hashes them as a chain, as GIE's prefix plugin does:
/// h(-1) = xxh64(model ‖ cache_salt), h(i) = xxh64(block i ‖ h(i−1) little-endian). A block's hash
/// therefore stands for the whole prefix up to it; a trailing partial block is ignored.
/// </summary>
internal static class PrefixHasher
{
    /// <summary>Writes up to <paramref name="hashes"/>.Length block hashes and returns how many.</summary>
    /// <param name="scratch">Grown as needed to hold one block plus 8 bytes, and the model name plus salt.</param>
    public static int Hash(ReadOnlySequence<byte> prompt, string model, ReadOnlySequence<byte> cacheSalt, int blockBytes, Span<ulong> hashes, ref byte[] scratch)
    {
        var blocks = (int)Math.Min(prompt.Length / blockBytes, hashes.Length);
        if (blocks <= 0)
        {
            return 0;
        }

        var modelBytes = Encoding.UTF8.GetMaxByteCount(model.Length);
        EnsureCapacity(ref scratch, Math.Max(blockBytes + sizeof(ulong), modelBytes + (int)Math.Min(cacheSalt.Length, int.MaxValue / 2)));
        var seedLength = Encoding.UTF8.GetBytes(model, scratch);
        cacheSalt.CopyTo(scratch.AsSpan(seedLength));
        var previous = XxHash64.HashToUInt64(scratch.AsSpan(0, seedLength + (int)cacheSalt.Length));

        var buffer = scratch.AsSpan(0, blockBytes + sizeof(ulong));
        if (prompt.IsSingleSegment)
        {
            var span = prompt.FirstSpan;
            for (var i = 0; i < blocks; i++)
            {
                span.Slice(i * blockBytes, blockBytes).CopyTo(buffer);
                previous = hashes[i] = HashBlock(buffer, blockBytes, previous);
            }
        }
        else
        {
            var reader = new SequenceReader<byte>(prompt);
            for (var i = 0; i < blocks; i++)
            {
                reader.TryCopyTo(buffer[..blockBytes]);
                reader.Advance(blockBytes);
                previous = hashes[i] = HashBlock(buffer, blockBytes, previous);
            }
        }

        return blocks;
    }

    private static ulong HashBlock(Span<byte> buffer, int blockBytes, ulong previous)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[blockBytes..], previous);
        return XxHash64.HashToUInt64(buffer);
    }

    private static void EnsureCapacity(ref byte[] scratch, int length)
    {
        if (scratch.Length < length)
        {
            scratch = new byte[Math.Max(length, scratch.Length * 2)];
        }
    }
}
