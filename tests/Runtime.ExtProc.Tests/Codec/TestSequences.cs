using System.Buffers;

namespace Runtime.ExtProc.Tests.Codec;

/// <summary>Builds <see cref="ReadOnlySequence{T}"/>s the way Kestrel's pipe hands them out: one array per segment.</summary>
internal static class TestSequences
{
    public static ReadOnlySequence<byte> Single(byte[] data) => new(data);

    /// <summary>Splits into segments of exactly <paramref name="segmentSize"/> bytes (the last may be shorter).</summary>
    public static ReadOnlySequence<byte> Chunked(ReadOnlySpan<byte> data, int segmentSize)
    {
        var lengths = new List<int>();
        for (int offset = 0; offset < data.Length; offset += segmentSize)
        {
            lengths.Add(Math.Min(segmentSize, data.Length - offset));
        }

        return Build(data, lengths);
    }

    /// <summary>Splits at random points into segments of 1..<paramref name="maxSegment"/> bytes, with occasional empty segments.</summary>
    public static ReadOnlySequence<byte> Split(ReadOnlySpan<byte> data, Random random, int maxSegment)
    {
        var lengths = new List<int>();
        int offset = 0;
        while (offset < data.Length)
        {
            int length = random.Next(20) == 0 ? 0 : Math.Min(random.Next(1, maxSegment + 1), data.Length - offset);
            lengths.Add(length);
            offset += length;
        }

        // Make sure the result really is multi-segment, even for tiny inputs.
        while (lengths.Count < 2)
        {
            lengths.Add(0);
        }

        return Build(data, lengths);
    }

    private static ReadOnlySequence<byte> Build(ReadOnlySpan<byte> data, List<int> lengths)
    {
        if (lengths.Count == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        Segment first = null!;
        Segment last = null!;
        int offset = 0;
        foreach (int length in lengths)
        {
            // Each segment in its own array, with slack on both sides so an off-by-one read shows up as wrong data.
            byte[] array = new byte[length + 2];
            array[0] = 0xEE;
            array[^1] = 0xEE;
            data.Slice(offset, length).CopyTo(array.AsSpan(1));
            var memory = new ReadOnlyMemory<byte>(array, 1, length);
            if (first is null)
            {
                first = last = new Segment(memory, 0);
            }
            else
            {
                last = last.Append(memory);
            }

            offset += length;
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
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
