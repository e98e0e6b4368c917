namespace Runtime.ControlPlane.Manifests;

/// <summary>One problem in a manifest set, where an editor would show it.</summary>
/// <param name="File">The file name relative to the manifest directory (the directory itself when it is missing).</param>
/// <param name="Line">1-based line; 0 when the problem concerns the whole file.</param>
/// <param name="Message">What is wrong, phrased for the operator who wrote the file.</param>
internal sealed record ManifestError(string File, int Line, string Message)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}: {Message}" : $"{File}: {Message}";
}
