using System.Buffers;

namespace Runtime.Fuzz.Targets;

/// <summary>
/// Splits an input into a multi-segment sequence at points derived from the input itself, so
/// a run is deterministic and the fuzzer can steer where chunk boundaries fall.
/// </summary>
internal static class Segments
{
    public static ReadOnlySequence<byte> Split(byte[] bytes)
    {
        if (bytes.Length < 2)
        {
            return new ReadOnlySequence<byte>(bytes);
        }

        var state = (uint)bytes.Length * 2654435761u ^ bytes[0] ^ ((uint)bytes[^1] << 8);
        Segment? first = null;
        Segment? last = null;
        var start = 0;
        while (start < bytes.Length)
        {
            state = (state * 1103515245u) + 12345u;
            var size = Math.Min(bytes.Length - start, 1 + (int)((state >> 16) % 7));
            var segment = new Segment(bytes.AsMemory(start, size), start);
            if (last is null)
            {
                first = segment;
            }
            else
            {
                last.SetNext(segment);
            }

            last = segment;
            start += size;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    /// <summary>The chunk sizes <see cref="Split"/> would use, for parsers fed chunk by chunk.</summary>
    public static IEnumerable<ReadOnlyMemory<byte>> Chunks(byte[] bytes)
    {
        foreach (var memory in Split(bytes))
        {
            yield return memory;
        }
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
