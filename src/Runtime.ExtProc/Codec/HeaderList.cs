using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Runtime.ExtProc.Codec;

/// <summary>
/// Header name/value pairs held as bytes in pooled storage (names lower-case as Envoy sends
/// them). Reused across messages and streams: <see cref="Clear"/> keeps the storage,
/// <see cref="Release"/> returns it to the pool.
/// </summary>
/// <remarks>
/// All names and values live back to back in one rented byte array and are addressed by an
/// entry array, so a message with N headers costs two copies into warm storage and no objects.
/// Spans returned by <see cref="GetName"/>, <see cref="GetValue"/> and <see cref="TryGetValue"/>
/// are valid until the list is next modified.
/// </remarks>
public sealed class HeaderList
{
    private byte[] _bytes = [];
    private int _bytesUsed;
    private Entry[] _entries = [];
    private int _count;

    public int Count => _count;

    /// <summary>Bytes of storage currently rented (for tests and diagnostics).</summary>
    internal int ByteCapacity => _bytes.Length;

    /// <summary>Entries of storage currently rented (for tests and diagnostics).</summary>
    internal int EntryCapacity => _entries.Length;

    public ReadOnlySpan<byte> GetName(int index)
    {
        if ((uint)index >= (uint)_count)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(index));
        }

        Entry entry = _entries[index];
        return _bytes.AsSpan(entry.NameStart, entry.NameLength);
    }

    public ReadOnlySpan<byte> GetValue(int index)
    {
        if ((uint)index >= (uint)_count)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(index));
        }

        Entry entry = _entries[index];
        return _bytes.AsSpan(entry.NameStart + entry.NameLength, entry.ValueLength);
    }

    /// <summary>First value for <paramref name="name"/> (ASCII case-insensitive).</summary>
    public bool TryGetValue(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        ReadOnlySpan<Entry> entries = _entries.AsSpan(0, _count);
        ReadOnlySpan<byte> bytes = _bytes;
        for (int i = 0; i < entries.Length; i++)
        {
            Entry entry = entries[i];
            // Length first: almost every mismatch is decided without touching the bytes.
            if (entry.NameLength == name.Length
                && EqualsAsciiIgnoreCase(bytes.Slice(entry.NameStart, entry.NameLength), name))
            {
                value = bytes.Slice(entry.NameStart + entry.NameLength, entry.ValueLength);
                return true;
            }
        }

        value = default;
        return false;
    }

    public void Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        int start = Reserve(name.Length, value.Length);
        name.CopyTo(_bytes.AsSpan(start));
        value.CopyTo(_bytes.AsSpan(start + name.Length));
    }

    public void Add(in ReadOnlySequence<byte> name, in ReadOnlySequence<byte> value)
    {
        if (name.Length > Array.MaxLength || value.Length > Array.MaxLength)
        {
            ThrowHelper.ThrowTooLarge("Header");
        }

        int nameLength = (int)name.Length;
        int start = Reserve(nameLength, (int)value.Length);
        name.CopyTo(_bytes.AsSpan(start));
        value.CopyTo(_bytes.AsSpan(start + nameLength));
    }

    public void Clear()
    {
        _count = 0;
        _bytesUsed = 0;
    }

    public void Release()
    {
        Clear();
        PooledArray.Return(ref _bytes);
        PooledArray.Return(ref _entries);
    }

    /// <summary>
    /// Grows byte storage once for <paramref name="additionalBytes"/> more bytes. The decoder
    /// passes the size of a whole HeaderMap (an upper bound of its names and values) so a large
    /// map grows storage once instead of doubling its way up.
    /// </summary>
    internal void EnsureAdditionalByteCapacity(int additionalBytes) =>
        PooledArray.EnsureCapacity(ref _bytes, _bytesUsed, checked(_bytesUsed + additionalBytes));

    /// <summary>Appends an entry for a name and value of the given sizes; returns where the name starts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Reserve(int nameLength, int valueLength)
    {
        int start = _bytesUsed;
        long end = (long)start + nameLength + valueLength;
        if (end > Array.MaxLength)
        {
            ThrowHelper.ThrowTooLarge("Header storage");
        }

        PooledArray.EnsureCapacity(ref _bytes, _bytesUsed, (int)end);
        PooledArray.EnsureCapacity(ref _entries, _count, _count + 1);
        _entries[_count++] = new Entry(start, nameLength, valueLength);
        _bytesUsed = (int)end;
        return start;
    }

    private static bool EqualsAsciiIgnoreCase(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        // Not Ascii.EqualsIgnoreCase: it reports non-ASCII bytes as unequal even when identical.
        Debug.Assert(left.Length == right.Length);
        for (int i = 0; i < left.Length; i++)
        {
            uint a = left[i];
            uint b = right[i];
            if (a == b)
            {
                continue;
            }

            a |= 0x20;
            if (a != (b | 0x20) || a - 'a' > 'z' - 'a')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A header's bytes: the name at <see cref="NameStart"/>, the value right after it.</summary>
    private readonly struct Entry(int nameStart, int nameLength, int valueLength)
    {
        public readonly int NameStart = nameStart;
        public readonly int NameLength = nameLength;
        public readonly int ValueLength = valueLength;
    }
}
