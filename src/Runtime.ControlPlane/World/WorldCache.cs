using System.Collections.Immutable;

namespace Runtime.ControlPlane.World;

/// <summary>What a source reports about itself: synced once its first full view is in the cache.</summary>
internal sealed record SourceState(bool Synced, DateTimeOffset? LastSync, string? LastError);

/// <summary>
/// The one cache of the whole world. Sources write whole kinds (a list, a directory scan) or
/// single resources (watch events); a write that changes nothing changes nothing, so an
/// unchanged re-list wakes no one. The reconcile loop reads <see cref="Current"/> and waits on
/// <see cref="WaitForChangeAsync"/>; writes that land while it works coalesce into its next round.
/// </summary>
internal sealed class WorldCache
{
    private readonly Lock _lock = new();
    private WorldSnapshot _current = WorldSnapshot.Empty;
    private TaskCompletionSource _changed = NewSignal();
    private ImmutableDictionary<string, SourceState> _sources = ImmutableDictionary<string, SourceState>.Empty;
    private long _version;

    public WorldSnapshot Current => Volatile.Read(ref _current);

    /// <summary>Counts every change: of the world and of a source's state.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Every registered source's state, by name.</summary>
    public IReadOnlyDictionary<string, SourceState> Sources => Volatile.Read(ref _sources);

    /// <summary>True once every registered source has delivered its first full view.</summary>
    public bool AllSourcesSynced
    {
        get
        {
            var sources = Sources;
            return sources.Count > 0 && sources.Values.All(s => s.Synced);
        }
    }

    /// <summary>Declares a source before it starts, so readiness waits for its first sync.</summary>
    public void RegisterSource(string name)
    {
        lock (_lock)
        {
            if (!_sources.ContainsKey(name))
            {
                _sources = _sources.SetItem(name, new SourceState(false, null, null));
            }
        }

        Signal();
    }

    public void ReportSynced(string source, DateTimeOffset at)
    {
        lock (_lock)
        {
            _sources = _sources.SetItem(source, new SourceState(true, at, null));
        }

        Signal();
    }

    /// <summary>Records a source's failure; a synced source stays synced (its last view is still good).</summary>
    public void ReportError(string source, string error)
    {
        lock (_lock)
        {
            var previous = _sources.GetValueOrDefault(source) ?? new SourceState(false, null, null);
            _sources = _sources.SetItem(source, previous with { LastError = error });
        }

        Signal();
    }

    /// <summary>Replaces every resource of <paramref name="kind"/> (a re-list); true when the world changed.</summary>
    public bool Replace(ResourceKind kind, IEnumerable<Resource> resources) => Replace([kind], resources);

    /// <summary>Replaces every resource of the given kinds at once (a directory scan), in one generation.</summary>
    public bool Replace(IReadOnlyCollection<ResourceKind> kinds, IEnumerable<Resource> resources)
    {
        var incoming = new Dictionary<ResourceKind, Dictionary<ResourceKey, Resource>>();
        foreach (var kind in kinds)
        {
            incoming[kind] = [];
        }

        foreach (var resource in resources)
        {
            if (!incoming.TryGetValue(resource.Kind, out var ofKind))
            {
                throw new ArgumentException($"{resource.Key} is not of the replaced kinds", nameof(resources));
            }

            ofKind[resource.Key] = resource;
        }

        lock (_lock)
        {
            var world = _current;
            var changed = false;
            foreach (var (kind, wanted) in incoming)
            {
                var existing = world.Kind(kind);
                if (!SameContent(existing, wanted))
                {
                    world = world.With(kind, wanted.ToImmutableDictionary(), _current.Generation + 1);
                    changed = true;
                }
            }

            return changed && Commit(world);
        }
    }

    /// <summary>
    /// Replaces the resources of <paramref name="kind"/> that one of several feeds of that kind owns
    /// (<paramref name="previous"/>: the keys it published before) with <paramref name="resources"/>,
    /// leaving the other feeds' resources alone; true when the world changed.
    /// </summary>
    public bool ReplaceOwned(ResourceKind kind, IReadOnlyCollection<ResourceKey> previous, IEnumerable<Resource> resources)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(resources);
        lock (_lock)
        {
            var existing = _current.Kind(kind);
            var builder = existing.ToBuilder();
            foreach (var key in previous)
            {
                builder.Remove(key);
            }

            foreach (var resource in resources)
            {
                if (resource.Kind != kind)
                {
                    throw new ArgumentException($"{resource.Key} is not of the replaced kind", nameof(resources));
                }

                builder[resource.Key] = resource;
            }

            var wanted = builder.ToImmutable();
            return !SameContent(existing, wanted) && Commit(_current.With(kind, wanted, _current.Generation + 1));
        }
    }

    /// <summary>Adds or updates one resource (a watch event); true when the world changed.</summary>
    public bool Upsert(Resource resource)
    {
        lock (_lock)
        {
            var existing = _current.Kind(resource.Kind);
            if (existing.TryGetValue(resource.Key, out var old) && old.Equals(resource))
            {
                return false;
            }

            return Commit(_current.With(resource.Kind, existing.SetItem(resource.Key, resource), _current.Generation + 1));
        }
    }

    /// <summary>Removes one resource; true when it was there.</summary>
    public bool Delete(ResourceKey key)
    {
        lock (_lock)
        {
            var existing = _current.Kind(key.Kind);
            return existing.ContainsKey(key) && Commit(_current.With(key.Kind, existing.Remove(key), _current.Generation + 1));
        }
    }

    /// <summary>Completes once <see cref="Version"/> differs from <paramref name="seen"/>.</summary>
    public Task WaitForChangeAsync(long seen, CancellationToken cancellationToken)
    {
        Task signal;
        lock (_lock)
        {
            if (_version != seen)
            {
                return Task.CompletedTask;
            }

            signal = _changed.Task;
        }

        return signal.WaitAsync(cancellationToken);
    }

    private static bool SameContent(ImmutableDictionary<ResourceKey, Resource> existing, IReadOnlyDictionary<ResourceKey, Resource> wanted)
    {
        if (existing.Count != wanted.Count)
        {
            return false;
        }

        foreach (var (key, resource) in wanted)
        {
            if (!existing.TryGetValue(key, out var old) || !old.Equals(resource))
            {
                return false;
            }
        }

        return true;
    }

    private bool Commit(WorldSnapshot next)
    {
        Volatile.Write(ref _current, next);
        SignalLocked();
        return true;
    }

    private void Signal()
    {
        lock (_lock)
        {
            SignalLocked();
        }
    }

    private void SignalLocked()
    {
        Interlocked.Increment(ref _version);
        var fired = _changed;
        _changed = NewSignal();
        fired.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
