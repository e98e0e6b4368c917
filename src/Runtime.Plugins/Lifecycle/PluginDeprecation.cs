namespace Runtime.Plugins.Lifecycle;

/// <summary>Why a plugin type is deprecated and which registered type(s) replace it.</summary>
public sealed record PluginDeprecation(string Message, IReadOnlyList<string> Replacements)
{
    public string Describe() => Replacements.Count == 0 ? Message : $"{Message} Use instead: {string.Join(", ", Replacements)}.";
}
