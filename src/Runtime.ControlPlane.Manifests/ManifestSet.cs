using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Manifests;

/// <summary>A resource decoded from a manifest, with where it was written.</summary>
internal sealed record ManifestItem(Resource Resource, string File, int Line);

/// <summary>An object of a kind the control plane does not model (it is skipped).</summary>
internal sealed record IgnoredManifest(string Kind, string File, int Line);

/// <summary>Everything one scan of a manifest directory found: the resources, or every reason they cannot be published.</summary>
internal sealed class ManifestSet
{
    public required IReadOnlyList<ManifestItem> Items { get; init; }

    public required IReadOnlyList<ManifestError> Errors { get; init; }

    public IReadOnlyList<IgnoredManifest> Ignored { get; init; } = [];

    /// <summary>Problems that do not stop the set from being published (an objective naming a pool that is not there).</summary>
    public IReadOnlyList<ManifestError> Warnings { get; init; } = [];

    /// <summary>How many manifest files were read.</summary>
    public int Files { get; init; }

    /// <summary>
    /// A file could not be read (it vanished between listing and reading, or access was denied):
    /// the scan says nothing about the directory's content and should be retried.
    /// </summary>
    public bool Incomplete { get; init; }

    public bool IsValid => Errors.Count == 0;

    public IEnumerable<Resource> Resources => Items.Select(i => i.Resource);
}
