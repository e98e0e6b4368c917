using System.Collections.Frozen;

namespace Runtime.Bbr.Mappings;

/// <summary>
/// LoRA adapter → base model, immutable. A base model maps to itself; an unknown model has no
/// base (the header is then set empty, as the Go body-based router does).
/// </summary>
internal sealed class BaseModelMappings
{
    public static readonly BaseModelMappings Empty = new(FrozenDictionary<string, string>.Empty);

    private readonly FrozenDictionary<string, string> _baseOf;
    private readonly FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public BaseModelMappings(IReadOnlyDictionary<string, string> baseOf)
    {
        _baseOf = baseOf.ToFrozenDictionary(StringComparer.Ordinal);
        _lookup = _baseOf.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Count => _baseOf.Count;

    /// <summary>Builds mappings from (base model, adapters) pairs; the base maps to itself.</summary>
    public static BaseModelMappings FromGroups(IEnumerable<(string BaseModel, IReadOnlyList<string> Adapters)> groups)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (baseModel, adapters) in groups)
        {
            map[baseModel] = baseModel;
            foreach (var adapter in adapters)
            {
                map[adapter] = baseModel;
            }
        }

        return new BaseModelMappings(map);
    }

    public bool TryGetBaseModel(ReadOnlySpan<char> model, out string baseModel) =>
        _lookup.TryGetValue(model, out baseModel!);
}
