using System.Buffers;

namespace Runtime.ExtProc.Codec;

/// <summary>
/// Header name/value pairs held as bytes in pooled storage (names lower-case as Envoy sends
/// them). Reused across messages and streams: <see cref="Clear"/> keeps the storage,
/// <see cref="Release"/> returns it to the pool.
/// </summary>
public sealed class HeaderList
{
    public int Count => throw new NotImplementedException();
    public ReadOnlySpan<byte> GetName(int index) => throw new NotImplementedException();
    public ReadOnlySpan<byte> GetValue(int index) => throw new NotImplementedException();
    /// <summary>First value for <paramref name="name"/> (ASCII case-insensitive).</summary>
    public bool TryGetValue(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value) => throw new NotImplementedException();
    public void Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => throw new NotImplementedException();
    public void Add(in ReadOnlySequence<byte> name, in ReadOnlySequence<byte> value) => throw new NotImplementedException();
    public void Clear() => throw new NotImplementedException();
    public void Release() => throw new NotImplementedException();
}
