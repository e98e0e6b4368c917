using System.Buffers;
using Runtime.Primitives.Buffers;

namespace Runtime.ExtProc.Buffers;

/// <summary>
/// Accumulates a body that arrives in chunks into pooled arrays and exposes it as one
/// <see cref="ReadOnlySequence{T}"/> without copying it again. Segments grow geometrically
/// (16 KB up to 1 MB) so a 220 KB prompt needs a handful of rentals. <see cref="Reset"/>
/// returns every array; segment objects are kept for the next body, so a pooled owner
/// allocates nothing in steady state. Each array is charged to <see cref="Budget"/> while held.
/// </summary>
internal sealed class BodyBuffer
{
    private const int FirstSegmentSize = 16 * 1024;
    private const int MaxSegmentSize = 1024 * 1024;

    private readonly List<Segment> _segments = [];
    private int _used;       // segments holding data (the last one may have room left)
    private long _length;

    public long Length => _length;

    /// <summary>Where held arrays are charged (the stream sets the process's budget when it starts).</summary>
    public BodyBufferBudget Budget { get; set; } = BodyBufferBudget.Unlimited;

    public bool IsEmpty => _length == 0;

    public void Append(in ReadOnlySequence<byte> data)
    {
        foreach (var memory in data)
        {
            Append(memory.Span);
        }
    }

    /// <summary>
    /// Appends unless the new arrays it needs would pass <see cref="Budget"/>'s limit; false then,
    /// with part of <paramref name="data"/> possibly appended (the caller refuses the request).
    /// </summary>
    public bool TryAppend(in ReadOnlySequence<byte> data)
    {
        foreach (var memory in data)
        {
            if (!TryAppend(memory.Span, refusable: true))
            {
                return false;
            }
        }

        return true;
    }

    public void Append(ReadOnlySpan<byte> data) => TryAppend(data, refusable: false);

    private bool TryAppend(ReadOnlySpan<byte> data, bool refusable)
    {
        while (!data.IsEmpty)
        {
            var segment = CurrentWithRoom(data.Length, refusable);
            if (segment is null)
            {
                return false;
            }

            var room = segment.Array!.Length - segment.Count;
            var n = Math.Min(room, data.Length);
            data[..n].CopyTo(segment.Array.AsSpan(segment.Count));
            segment.Count += n;
            _length += n;
            data = data[n..];
        }

        return true;
    }

    /// <summary>The bytes appended so far. Valid until the next <see cref="Append(ReadOnlySpan{byte})"/> or <see cref="Reset"/>.</summary>
    public ReadOnlySequence<byte> AsSequence()
    {
        if (_length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        if (_used == 1)
        {
            var only = _segments[0];
            return new ReadOnlySequence<byte>(only.Array!, 0, only.Count);
        }

        long running = 0;
        for (var i = 0; i < _used; i++)
        {
            var segment = _segments[i];
            segment.Link(running, i + 1 < _used ? _segments[i + 1] : null);
            running += segment.Count;
        }

        var last = _segments[_used - 1];
        return new ReadOnlySequence<byte>(_segments[0], 0, last, last.Count);
    }

    /// <summary>Returns the pooled arrays; keeps the segment objects for reuse.</summary>
    public void Reset()
    {
        for (var i = 0; i < _used; i++)
        {
            Budget.Release(_segments[i].Release());
        }

        _used = 0;
        _length = 0;
    }

    private Segment? CurrentWithRoom(int wanted, bool refusable)
    {
        if (_used > 0)
        {
            var current = _segments[_used - 1];
            if (current.Count < current.Array!.Length)
            {
                return current;
            }
        }

        var size = _used == 0
            ? (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(wanted, FirstSegmentSize, MaxSegmentSize))
            : Math.Min(_segments[_used - 1].Array!.Length * 2, MaxSegmentSize);
        // Segment sizes are powers of two up to the pool's largest class: the charge is the array's length.
        if (!refusable)
        {
            Budget.Reserve(size);
        }
        else if (!Budget.TryReserve(size))
        {
            return null;
        }

        if (_used == _segments.Count)
        {
            _segments.Add(new Segment());
        }

        var segment = _segments[_used++];
        segment.Rent(size);
        return segment;
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public byte[]? Array;
        public int Count;

        public void Rent(int size)
        {
            Array = PooledBuffers.RentMessage(size);
            Count = 0;
        }

        public void Link(long runningIndex, Segment? next)
        {
            Memory = Array.AsMemory(0, Count);
            RunningIndex = runningIndex;
            Next = next;
        }

        /// <summary>Gives the array back; returns its length (what was charged for it).</summary>
        public int Release()
        {
            var length = Array!.Length;
            PooledBuffers.ReturnMessage(Array);
            Array = null;
            Count = 0;
            Memory = default;
            Next = null;
            return length;
        }
    }
}
