using System.Buffers;

namespace Runtime.Benchmarks.Infrastructure;

/// <summary>Lays bytes out as Kestrel's pipe hands them over: a partial first block, then full 4 KB blocks.</summary>
internal static class PipeSegments
{
    public const int BlockSize = 4096;

    public static ReadOnlySequence<byte> Split(byte[] data, int firstSegmentLength)
    {
        Segment? first = null;
        Segment? last = null;
        var offset = 0;
        while (offset < data.Length)
        {
            var length = Math.Min(offset == 0 ? firstSegmentLength : BlockSize, data.Length - offset);
            var memory = new ReadOnlyMemory<byte>(data, offset, length);
            last = last is null ? (first = new Segment(memory, 0)) : last.Append(memory);
            offset += length;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
