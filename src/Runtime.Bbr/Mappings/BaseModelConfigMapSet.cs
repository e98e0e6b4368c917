namespace Runtime.Bbr.Mappings;

/// <summary>What applying the current set of bbr-managed ConfigMaps gave.</summary>
/// <param name="Mappings">The mappings now published.</param>
/// <param name="ConfigMaps">How many ConfigMaps contribute (good ones, and bad ones that kept an earlier good version).</param>
/// <param name="Problems">Every ConfigMap's current problem (for a status line).</param>
/// <param name="NewProblems">Problems of ConfigMaps whose data changed in this call (to log once).</param>
/// <param name="Changed">True when a ConfigMap was added, changed or removed (the mappings were rebuilt).</param>
internal sealed record BaseModelConfigMapResult(BaseModelMappings Mappings, int ConfigMaps, IReadOnlyList<string> Problems, IReadOnlyList<string> NewProblems, bool Changed);

/// <summary>
/// The Go router's adapters store (GIE v1.5.0 <c>basemodelextractor</c>) as a set of ConfigMaps:
/// each contributes its base model and adapters; a base model stays known while any ConfigMap names
/// it; a ConfigMap that becomes invalid keeps its last good contribution (Go's reconcile fails and
/// leaves the store as it was), one that never was valid contributes nothing; a ConfigMap that is
/// gone contributes nothing. An adapter listed by two ConfigMaps maps to the base model of the one
/// whose namespace/name sorts last.
/// </summary>
internal sealed class BaseModelConfigMapSet
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public BaseModelMappings Mappings { get; private set; } = BaseModelMappings.Empty;

    /// <summary>Makes <paramref name="configMaps"/> (namespace/name → data) the whole set.</summary>
    public BaseModelConfigMapResult Replace(IEnumerable<KeyValuePair<string, IReadOnlyDictionary<string, string>>> configMaps)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var changed = false;
        var newProblems = new List<string>();
        foreach (var (key, data) in configMaps)
        {
            if (!seen.Add(key))
            {
                continue;
            }

            _entries.TryGetValue(key, out var previous);
            if (previous is not null && SameData(previous.Data, data))
            {
                continue;
            }

            var groups = new List<(string BaseModel, IReadOnlyList<string> Adapters)>(1);
            var errors = new List<string>();
            var where = "ConfigMap " + key;
            if (BaseModelMappingLoader.TryParseConfigMapData(data, where, groups, errors))
            {
                _entries[key] = new Entry(Copy(data), groups[0], null);
            }
            else
            {
                var kept = previous?.Group;
                var problem = string.Join("; ", errors) + (kept is null ? "; ignored" : "; keeping its previous mappings");
                _entries[key] = new Entry(Copy(data), kept, problem);
                newProblems.Add(problem);
            }

            changed = true;
        }

        foreach (var key in _entries.Keys.Where(k => !seen.Contains(k)).ToArray())
        {
            _entries.Remove(key);
            changed = true;
        }

        if (changed)
        {
            Mappings = BaseModelMappings.FromGroups(_entries
                .OrderBy(e => e.Key, StringComparer.Ordinal)
                .Where(e => e.Value.Group is not null)
                .Select(e => e.Value.Group!.Value));
        }

        var problems = _entries.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => e.Value.Problem).OfType<string>().ToArray();
        return new BaseModelConfigMapResult(Mappings, _entries.Values.Count(e => e.Group is not null), problems, newProblems, changed);
    }

    private static bool SameData(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var value) && string.Equals(value, kv.Value, StringComparison.Ordinal));

    private static Dictionary<string, string> Copy(IReadOnlyDictionary<string, string> data) => data.ToDictionary(StringComparer.Ordinal);

    private sealed record Entry(IReadOnlyDictionary<string, string> Data, (string BaseModel, IReadOnlyList<string> Adapters)? Group, string? Problem);
}
