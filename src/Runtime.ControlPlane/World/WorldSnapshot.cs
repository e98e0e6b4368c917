using System.Collections.Immutable;

namespace Runtime.ControlPlane.World;

/// <summary>
/// The whole world at one moment: every resource the sources know, by kind. Immutable; the
/// cache swaps in a new one per change and <see cref="Generation"/> counts those changes.
/// </summary>
internal sealed class WorldSnapshot
{
    private static readonly ImmutableDictionary<ResourceKey, Resource> s_none = ImmutableDictionary<ResourceKey, Resource>.Empty;

    public static readonly WorldSnapshot Empty = new(ImmutableDictionary<ResourceKind, ImmutableDictionary<ResourceKey, Resource>>.Empty, 0);

    private readonly ImmutableDictionary<ResourceKind, ImmutableDictionary<ResourceKey, Resource>> _byKind;

    internal WorldSnapshot(ImmutableDictionary<ResourceKind, ImmutableDictionary<ResourceKey, Resource>> byKind, long generation)
    {
        _byKind = byKind;
        Generation = generation;
    }

    public long Generation { get; }

    public int Count => _byKind.Values.Sum(k => k.Count);

    public IReadOnlyDictionary<ResourceKey, Resource> Of(ResourceKind kind) => Kind(kind);

    public IEnumerable<T> Of<T>(ResourceKind kind) where T : Resource => Of(kind).Values.OfType<T>();

    public IEnumerable<Resource> All => _byKind.Values.SelectMany(k => k.Values);

    public bool TryGet(ResourceKey key, out Resource resource)
    {
        resource = null!;
        return _byKind.TryGetValue(key.Kind, out var resources) && resources.TryGetValue(key, out resource!);
    }

    /// <summary>Builds a snapshot from resources (tests, and the model the randomized test compares against).</summary>
    public static WorldSnapshot From(IEnumerable<Resource> resources)
    {
        var byKind = ImmutableDictionary<ResourceKind, ImmutableDictionary<ResourceKey, Resource>>.Empty;
        foreach (var group in resources.GroupBy(r => r.Kind))
        {
            byKind = byKind.SetItem(group.Key, group.ToImmutableDictionary(r => r.Key));
        }

        return new WorldSnapshot(byKind, 0);
    }

    internal ImmutableDictionary<ResourceKey, Resource> Kind(ResourceKind kind) =>
        _byKind.TryGetValue(kind, out var resources) ? resources : s_none;

    internal WorldSnapshot With(ResourceKind kind, ImmutableDictionary<ResourceKey, Resource> resources, long generation) =>
        new(resources.Count == 0 ? _byKind.Remove(kind) : _byKind.SetItem(kind, resources), generation);
}
