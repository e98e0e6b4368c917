namespace Runtime.Configuration.Yaml;

/// <summary>A position in the YAML text (1-based, as editors show it).</summary>
internal readonly record struct SourcePosition(int Line, int Column);

/// <summary>
/// Where each field path of the converted document came from in the YAML text, so errors found on
/// the JSON side can still say "line 12".
/// </summary>
internal sealed class SourceMap
{
    private readonly Dictionary<string, SourcePosition> _positions = new(StringComparer.Ordinal);

    public static SourceMap Empty { get; } = new();

    internal void Add(string path, SourcePosition position) => _positions.TryAdd(path, position);

    /// <summary>The position of <paramref name="path"/>, or of its nearest ancestor that has one.</summary>
    public SourcePosition? Find(string path)
    {
        var current = path;
        while (true)
        {
            if (_positions.TryGetValue(current, out var position))
            {
                return position;
            }

            if (current.Length == 0)
            {
                return null;
            }

            current = Parent(current);
        }
    }

    private static string Parent(string path)
    {
        var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        return cut <= 0 ? string.Empty : path[..cut];
    }
}
