using System.Collections;

namespace Runtime.ControlPlane.World;

/// <summary>
/// An immutable string map with value equality, so resources that hold labels, selectors or
/// ConfigMap data compare by content (a re-list that changes nothing must diff to nothing).
/// </summary>
internal sealed class ValueDictionary : IReadOnlyDictionary<string, string>, IEquatable<ValueDictionary>
{
    public static readonly ValueDictionary Empty = new(new SortedDictionary<string, string>(StringComparer.Ordinal));

    private readonly SortedDictionary<string, string> _entries;

    private ValueDictionary(SortedDictionary<string, string> entries) => _entries = entries;

    public static ValueDictionary From(IEnumerable<KeyValuePair<string, string>>? entries)
    {
        if (entries is null)
        {
            return Empty;
        }

        var sorted = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in entries)
        {
            sorted[key] = value;
        }

        return sorted.Count == 0 ? Empty : new ValueDictionary(sorted);
    }

    public int Count => _entries.Count;

    public string this[string key] => _entries[key];

    public IEnumerable<string> Keys => _entries.Keys;

    public IEnumerable<string> Values => _entries.Values;

    public bool ContainsKey(string key) => _entries.ContainsKey(key);

    public bool TryGetValue(string key, out string value) => _entries.TryGetValue(key, out value!);

    /// <summary>True when every entry of <paramref name="selector"/> is in this map (Kubernetes matchLabels).</summary>
    public bool Matches(ValueDictionary selector)
    {
        foreach (var (key, value) in selector)
        {
            if (!TryGetValue(key, out var mine) || mine != value)
            {
                return false;
            }
        }

        return true;
    }

    public bool Equals(ValueDictionary? other)
    {
        if (other is null || other.Count != Count)
        {
            return false;
        }

        using var mine = _entries.GetEnumerator();
        using var theirs = other._entries.GetEnumerator();
        while (mine.MoveNext() && theirs.MoveNext())
        {
            if (mine.Current.Key != theirs.Current.Key || mine.Current.Value != theirs.Current.Value)
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as ValueDictionary);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var (key, value) in _entries)
        {
            hash.Add(key);
            hash.Add(value);
        }

        return hash.ToHashCode();
    }

    public override string ToString() => string.Join(',', _entries.Select(e => $"{e.Key}={e.Value}"));

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>An immutable list with value equality (target ports, rewrite rules).</summary>
internal sealed class ValueList<T> : IReadOnlyList<T>, IEquatable<ValueList<T>>
{
    public static readonly ValueList<T> Empty = new([]);

    private readonly T[] _items;

    public ValueList(IEnumerable<T> items) => _items = [.. items];

    public int Count => _items.Length;

    public T this[int index] => _items[index];

    public bool Equals(ValueList<T>? other) =>
        other is not null && _items.AsSpan().SequenceEqual(other._items, EqualityComparer<T>.Default);

    public override bool Equals(object? obj) => Equals(obj as ValueList<T>);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var item in _items)
        {
            hash.Add(item);
        }

        return hash.ToHashCode();
    }

    public override string ToString() => "[" + string.Join(',', _items) + "]";

    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
