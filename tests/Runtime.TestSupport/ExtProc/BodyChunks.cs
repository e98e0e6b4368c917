namespace Runtime.TestSupport.ExtProc;

/// <summary>Splits a body into chunks at arbitrary byte offsets, as Envoy's buffers fall.</summary>
public static class BodyChunks
{
    /// <summary>GIE's streamed chunk size, under the 64 KiB gRPC frame Envoy expects back.</summary>
    public const int GieChunkBytes = 62_000;

    /// <summary>Cuts the body at the given offsets, which must be strictly increasing and inside the body.</summary>
    public static IReadOnlyList<ReadOnlyMemory<byte>> SplitAt(ReadOnlyMemory<byte> body, params IEnumerable<int> offsets)
    {
        var chunks = new List<ReadOnlyMemory<byte>>();
        var start = 0;
        foreach (var offset in offsets)
        {
            if (offset <= start || offset >= body.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(offsets), offset,
                    $"Offsets must increase strictly and lie in (0, {body.Length}); previous cut at {start}.");
            }

            chunks.Add(body[start..offset]);
            start = offset;
        }

        chunks.Add(body[start..]);
        return chunks;
    }

    /// <summary>Fixed-size chunks of at most <paramref name="maxChunkBytes"/>; an empty body gives no chunk.</summary>
    public static IReadOnlyList<ReadOnlyMemory<byte>> SplitEvery(ReadOnlyMemory<byte> body, int maxChunkBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxChunkBytes);
        var chunks = new List<ReadOnlyMemory<byte>>((body.Length + maxChunkBytes - 1) / maxChunkBytes);
        for (var start = 0; start < body.Length; start += maxChunkBytes)
        {
            chunks.Add(body.Slice(start, Math.Min(maxChunkBytes, body.Length - start)));
        }

        return chunks;
    }

    /// <summary><paramref name="count"/> chunks of near-equal size (the first ones one byte larger when it does not divide).</summary>
    public static IReadOnlyList<ReadOnlyMemory<byte>> SplitInto(ReadOnlyMemory<byte> body, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, body.Length);
        var chunks = new List<ReadOnlyMemory<byte>>(count);
        var start = 0;
        for (var i = 0; i < count; i++)
        {
            var size = (body.Length / count) + (i < body.Length % count ? 1 : 0);
            chunks.Add(body.Slice(start, size));
            start += size;
        }

        return chunks;
    }

    /// <summary><paramref name="count"/> non-empty chunks cut at reproducible pseudo-random offsets.</summary>
    public static IReadOnlyList<ReadOnlyMemory<byte>> SplitRandomly(ReadOnlyMemory<byte> body, int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, body.Length);
        var random = new Random(seed);
        var cuts = new SortedSet<int>();
        while (cuts.Count < count - 1)
        {
            cuts.Add(random.Next(1, body.Length));
        }

        return SplitAt(body, cuts);
    }

    /// <summary>Concatenates chunks back into one buffer.</summary>
    public static byte[] Join(IEnumerable<ReadOnlyMemory<byte>> chunks)
    {
        var buffer = new MemoryStream();
        foreach (var chunk in chunks)
        {
            buffer.Write(chunk.Span);
        }

        return buffer.ToArray();
    }
}
