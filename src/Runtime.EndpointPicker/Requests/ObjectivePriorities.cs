using System.Text;

namespace Runtime.EndpointPicker.Requests;

/// <summary>
/// InferenceObjective name → priority (higher is served first; negative is sheddable). Replaced
/// whole by its source (flags or file today, the control plane later); the request path reads the
/// current map without a lock. An unknown or absent objective has priority 0.
/// </summary>
internal sealed class ObjectivePriorities
{
    private Map _current = new(new Dictionary<string, int>(StringComparer.Ordinal));

    public IReadOnlyDictionary<string, int> Current => Volatile.Read(ref _current).Priorities;

    public void Publish(IReadOnlyDictionary<string, int> priorities) =>
        Volatile.Write(ref _current, new Map(new Dictionary<string, int>(priorities, StringComparer.Ordinal)));

    public int GetPriority(ReadOnlySpan<byte> objectiveUtf8)
    {
        if (objectiveUtf8.IsEmpty || objectiveUtf8.Length > 253)
        {
            return 0;
        }

        Span<char> name = stackalloc char[253];
        if (!Encoding.UTF8.TryGetChars(objectiveUtf8, name, out var count))
        {
            return 0;
        }

        return Volatile.Read(ref _current).Lookup.TryGetValue(name[..count], out var priority) ? priority : 0;
    }

    /// <summary>Parses <c>name=priority</c> entries (flags, or lines of a file; <c>#</c> comments).</summary>
    public static bool TryParse(IEnumerable<string> entries, out Dictionary<string, int> priorities, out List<string> errors)
    {
        priorities = new Dictionary<string, int>(StringComparer.Ordinal);
        errors = [];
        foreach (var raw in entries)
        {
            var entry = raw.Split('#')[0].Trim();
            if (entry.Length == 0)
            {
                continue;
            }

            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !int.TryParse(entry.AsSpan(eq + 1).Trim(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var priority))
            {
                errors.Add($"objective \"{entry}\": expected name=priority with an integer priority");
                continue;
            }

            priorities[entry[..eq].Trim()] = priority;
        }

        return errors.Count == 0;
    }

    private sealed class Map(Dictionary<string, int> priorities)
    {
        public Dictionary<string, int> Priorities { get; } = priorities;

        public Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> Lookup { get; } = priorities.GetAlternateLookup<ReadOnlySpan<char>>();
    }
}
