using System.Collections.Concurrent;
using System.Text;

namespace Runtime.EndpointPicker.Requests;

/// <summary>
/// Turns short UTF-8 values that repeat (model names, fairness ids) into shared strings, so the
/// request path does not allocate a new string per request. Bounded: past
/// <paramref name="capacity"/> distinct values, new ones are allocated and not kept, so a client
/// sending random ids cannot grow memory.
/// </summary>
internal sealed class Utf8StringCache(int capacity)
{
    private const int MaxCachedBytes = 256;

    private readonly ConcurrentDictionary<string, string> _strings = new(StringComparer.Ordinal);

    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty)
        {
            return string.Empty;
        }

        if (utf8.Length > MaxCachedBytes)
        {
            return Encoding.UTF8.GetString(utf8);
        }

        Span<char> chars = stackalloc char[MaxCachedBytes];
        var count = Encoding.UTF8.GetChars(utf8, chars);
        var lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(chars[..count], out var cached))
        {
            return cached;
        }

        var value = new string(chars[..count]);
        if (_strings.Count < capacity)
        {
            _strings.TryAdd(value, value);
        }

        return value;
    }
}
