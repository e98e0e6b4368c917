using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Reconcile;

internal enum ResourceEventType
{
    Create,
    Update,
    Delete,
}

/// <summary>One difference between two worlds: what happened to which resource, with both versions.</summary>
internal sealed record ResourceEvent(ResourceKind Kind, ResourceEventType Type, Resource? Old, Resource? New)
{
    public ResourceKey Key => (New ?? Old)!.Key;
}

/// <summary>Diffs two world snapshots into events, in key order (deterministic for tests and logs).</summary>
internal static class WorldDiff
{
    public static IReadOnlyList<ResourceEvent> Compute(WorldSnapshot previous, WorldSnapshot current)
    {
        var events = new List<ResourceEvent>();
        foreach (var kind in Enum.GetValues<ResourceKind>())
        {
            var before = previous.Of(kind);
            var after = current.Of(kind);
            if (ReferenceEquals(before, after))
            {
                continue;
            }

            foreach (var (key, resource) in after)
            {
                if (!before.TryGetValue(key, out var old))
                {
                    events.Add(new ResourceEvent(kind, ResourceEventType.Create, null, resource));
                }
                else if (!old.Equals(resource))
                {
                    events.Add(new ResourceEvent(kind, ResourceEventType.Update, old, resource));
                }
            }

            foreach (var (key, resource) in before)
            {
                if (!after.ContainsKey(key))
                {
                    events.Add(new ResourceEvent(kind, ResourceEventType.Delete, resource, null));
                }
            }
        }

        events.Sort((a, b) => ResourceKey.Order(a.Key, b.Key));
        return events;
    }
}
