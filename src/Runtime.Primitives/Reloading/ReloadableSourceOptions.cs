namespace Runtime.Primitives.Reloading;

/// <summary>How a <see cref="ReloadableSource{T}"/> notices changes, and what it calls itself.</summary>
internal sealed record ReloadableSourceOptions
{
    /// <summary>The <c>source</c> label of the reload metrics and the name in log lines (<c>manifests</c>, <c>tls_certificate</c>…).</summary>
    public required string Name { get; init; }

    /// <summary>What is read (a file or a directory), for log lines.</summary>
    public required string Location { get; init; }

    /// <summary>A directory to watch for change events (FileSystemWatcher, top level only); null: polling only.</summary>
    public string? WatchDirectory { get; init; }

    /// <summary>
    /// How long the watched directory must stay quiet after a change event before the reload, so a
    /// burst of writes is one reload; a directory that never goes quiet is still reloaded every
    /// <see cref="MaxDebounces"/> debounces.
    /// </summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(100);

    public int MaxDebounces { get; init; } = 10;

    /// <summary>How often the fingerprint is checked without a change event (the safety net, or the only way with no watch); zero or less: never.</summary>
    public TimeSpan PollInterval { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
