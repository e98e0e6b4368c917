using System.Buffers;

namespace Runtime.TestSupport.Buffers;

/// <summary>Builds multi-segment sequences, so code under test sees bodies split the way pipes split them.</summary>
public static class Segments
{
    /// <summary>Splits <paramref name="bytes"/> into segments of <paramref name="pieceSize"/> bytes (the last may be shorter).</summary>
    public static ReadOnlySequence<byte> Split(byte[] bytes, int pieceSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pieceSize, 1);
        if (bytes.Length <= pieceSize)
        {
            return new ReadOnlySequence<byte>(bytes);
        }

        Segment? first = null, last = null;
        for (var offset = 0; offset < bytes.Length; offset += pieceSize)
        {
            var piece = bytes.AsMemory(offset, Math.Min(pieceSize, bytes.Length - offset));
            var segment = new Segment(piece, last is null ? 0 : last.RunningIndex + last.Memory.Length);
            if (last is null)
            {
                first = segment;
            }
            else
            {
                last.SetNext(segment);
            }

            last = segment;
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

        public void SetNext(Segment next) => Next = next;
    }
}
