using System.Buffers;

namespace Runtime.BodyParsing;

/// <summary>
/// Where <see cref="JsonBodyRewriter"/> writes the rewritten body, piece by piece (original
/// slices and new bytes). Implemented by structs so the calls are devirtualised: wrap a pooled
/// body buffer as <c>struct BodyBufferSink(BodyBuffer b) : IJsonByteSink { public void
/// Write(ReadOnlySpan&lt;byte&gt; s) =&gt; b.Append(s); }</c>.
/// </summary>
public interface IJsonByteSink
{
    void Write(ReadOnlySpan<byte> bytes);
}

/// <summary>Adapts an <see cref="IBufferWriter{T}"/>.</summary>
public readonly struct BufferWriterSink(IBufferWriter<byte> writer) : IJsonByteSink
{
    public void Write(ReadOnlySpan<byte> bytes) => writer.Write(bytes);
}

/// <summary>Fills a caller's span; <see cref="Written"/> counts the bytes.</summary>
public ref struct SpanSink(Span<byte> destination) : IJsonByteSink
{
    private readonly Span<byte> _destination = destination;

    public int Written { readonly get; private set; }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_destination[Written..]);
        Written += bytes.Length;
    }
}
