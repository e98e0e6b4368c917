namespace Runtime.ControlPlane.Manifests;

/// <summary>Tuning of <see cref="ManifestDirectorySource"/>.</summary>
internal sealed record ManifestSourceOptions
{
    public static readonly ManifestSourceOptions Default = new();

    /// <summary>The namespace of objects whose metadata names none.</summary>
    public string DefaultNamespace { get; init; } = "default";

    /// <summary>How long the directory must stay quiet after a change before it is reloaded, so a burst of writes is one reload.</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often the directory is checked even without a change event (the safety net); zero or less disables it.</summary>
    public TimeSpan RescanInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Watch the directory for changes (FileSystemWatcher); when off, only the periodic rescan sees changes.</summary>
    public bool WatchChanges { get; init; } = true;
}
