using System.Buffers;

namespace Runtime.ExtProc.Tests.Codec;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> that hands out spans barely larger than asked for (like a
/// pipe near the end of a block), so writers must cope with many small chunks.
/// </summary>
internal sealed class SmallChunkBufferWriter(Random random) : IBufferWriter<byte>
{
    private readonly List<byte> _written = [];
    private byte[] _current = [];

    public byte[] WrittenBytes => [.. _written];

    public void Advance(int count)
    {
        if ((uint)count > (uint)_current.Length)
        {
            throw new InvalidOperationException("Advanced past the span handed out.");
        }

        _written.AddRange(_current.AsSpan(0, count));
        _current = [];
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        _current = new byte[Math.Max(sizeHint, 1) + random.Next(0, 8)];
        return _current;
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
}
