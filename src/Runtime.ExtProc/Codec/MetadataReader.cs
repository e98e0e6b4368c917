using Runtime.Primitives.Wire;

namespace Runtime.ExtProc.Codec;

/// <summary>
/// Reads values out of an encoded <c>envoy.config.core.v3.Metadata</c> (the <c>metadata_context</c>
/// Envoy sends) without decoding it whole: <c>filter_metadata[namespace]</c> is a
/// <c>google.protobuf.Struct</c>, and we look up one field of it. Malformed input gives false, never
/// an exception. Allocates nothing.
/// </summary>
internal static class MetadataReader
{
    private const int WireLengthDelimited = WireFormat.WireTypeLengthDelimited;

    // google.protobuf.Value oneof field numbers.
    private const int ValueString = 3;
    private const int ValueList = 6;

    /// <summary>Finds <c>filter_metadata[ns].fields[key]</c>; <paramref name="value"/> is the encoded <c>google.protobuf.Value</c>.</summary>
    public static bool TryFindValue(ReadOnlySpan<byte> metadata, ReadOnlySpan<byte> ns, ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        value = default;
        // Metadata.filter_metadata = 1 (map entries: key = 1, value = 2). A map may repeat a key; the last one wins.
        var found = false;
        var position = 0;
        while (TryNextField(metadata, ref position, out var field, out var wire, out var payload))
        {
            if (field != 1 || wire != WireLengthDelimited || !TryMapEntry(payload, out var entryKey, out var structBytes) || !entryKey.SequenceEqual(ns))
            {
                continue;
            }

            // Struct.fields = 1 (map entries: key = 1, Value = 2).
            var fieldPosition = 0;
            while (TryNextField(structBytes, ref fieldPosition, out var structField, out var structWire, out var entry))
            {
                if (structField == 1 && structWire == WireLengthDelimited && TryMapEntry(entry, out var name, out var v) && name.SequenceEqual(key))
                {
                    value = v;
                    found = true;
                }
            }
        }

        return found;
    }

    /// <summary>Whether <c>filter_metadata</c> has an entry for <paramref name="ns"/>.</summary>
    public static bool HasNamespace(ReadOnlySpan<byte> metadata, ReadOnlySpan<byte> ns)
    {
        var position = 0;
        while (TryNextField(metadata, ref position, out var field, out var wire, out var payload))
        {
            if (field == 1 && wire == WireLengthDelimited && TryMapEntry(payload, out var entryKey, out _) && entryKey.SequenceEqual(ns))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The string of a <c>google.protobuf.Value</c> holding <c>string_value</c>.</summary>
    public static bool TryGetString(ReadOnlySpan<byte> value, out ReadOnlySpan<byte> text)
    {
        text = default;
        var found = false;
        var position = 0;
        while (TryNextField(value, ref position, out var field, out var wire, out var payload))
        {
            if (field == ValueString && wire == WireLengthDelimited)
            {
                text = payload;
                found = true;
            }
        }

        return found;
    }

    /// <summary>Whether a <c>google.protobuf.Value</c> holds a <c>list_value</c> (possibly empty); <paramref name="list"/> is the encoded <c>ListValue</c>.</summary>
    public static bool TryGetList(ReadOnlySpan<byte> value, out ReadOnlySpan<byte> list)
    {
        list = default;
        var found = false;
        var position = 0;
        while (TryNextField(value, ref position, out var field, out var wire, out var payload))
        {
            if (field == ValueList && wire == WireLengthDelimited)
            {
                list = payload;
                found = true;
            }
        }

        return found;
    }

    /// <summary>Walks the string elements of an encoded <c>ListValue</c>; other element kinds are skipped.</summary>
    public static StringListEnumerator EnumerateStrings(ReadOnlySpan<byte> list) => new(list);

    /// <summary>Enumerates the strings of a <c>ListValue</c> (<c>values</c> = 1).</summary>
    public ref struct StringListEnumerator(ReadOnlySpan<byte> list)
    {
        private readonly ReadOnlySpan<byte> _list = list;
        private int _position;

        public ReadOnlySpan<byte> Current { get; private set; }

        /// <summary>False at the end or on malformed bytes (see <see cref="IsMalformed"/>).</summary>
        public bool IsMalformed { get; private set; }

        public readonly StringListEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            while (_position < _list.Length)
            {
                if (!TryNextField(_list, ref _position, out var field, out var wire, out var element))
                {
                    IsMalformed = true;
                    return false;
                }

                if (field == 1 && wire == WireLengthDelimited && TryGetString(element, out var text))
                {
                    Current = text;
                    return true;
                }
            }

            return false;
        }
    }

    private static bool TryMapEntry(ReadOnlySpan<byte> entry, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        key = default;
        value = default;
        var position = 0;
        while (TryNextField(entry, ref position, out var field, out var wire, out var payload))
        {
            if (wire != WireLengthDelimited)
            {
                continue;
            }

            if (field == 1)
            {
                key = payload;
            }
            else if (field == 2)
            {
                value = payload;
            }
        }

        return position == entry.Length;
    }

    /// <summary>Reads one field at <paramref name="position"/>; <paramref name="payload"/> is set for length-delimited fields. On malformed bytes returns false and moves to the end.</summary>
    private static bool TryNextField(ReadOnlySpan<byte> input, scoped ref int position, out int field, out int wire, out ReadOnlySpan<byte> payload)
    {
        if (WireFormat.TryReadField(input, ref position, out field, out wire, out var range, out _))
        {
            payload = input.Slice(range.Start, range.Length);
            return true;
        }

        payload = default;
        position = input.Length;
        return false;
    }
}
