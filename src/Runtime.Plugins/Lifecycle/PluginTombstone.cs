namespace Runtime.Plugins.Lifecycle;

/// <summary>
/// A removed plugin type. Using it is an error that carries migration guidance, possibly naming
/// several replacements (one plugin split in two, or a filter replaced by weighted scorers).
/// </summary>
/// <param name="TypeName">The type name configs used to write.</param>
/// <param name="RemovedIn">Where it went away, e.g. "Gateway API Inference Extension v1.0".</param>
/// <param name="Guidance">How to migrate, in a sentence or two.</param>
/// <param name="Replacements">Registered types to use instead (may be several, or none when the feature is gone).</param>
public sealed record PluginTombstone(string TypeName, string RemovedIn, string Guidance, IReadOnlyList<string> Replacements)
{
    public string Describe()
    {
        var replacements = Replacements.Count == 0 ? string.Empty : $" Use instead: {string.Join(", ", Replacements)}.";
        return $"plugin type \"{TypeName}\" was removed in {RemovedIn}. {Guidance}{replacements}";
    }
}
