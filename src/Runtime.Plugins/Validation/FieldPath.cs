namespace Runtime.Plugins.Validation;

/// <summary>Builds and compares field paths of the form <c>a.b[2].c</c>.</summary>
public static class FieldPath
{
    public static string Field(string parent, string name) => parent.Length == 0 ? name : $"{parent}.{name}";

    public static string Index(string parent, int index) => $"{parent}[{index}]";

    /// <summary>True when <paramref name="path"/> equals <paramref name="ancestor"/> or lies inside it.</summary>
    public static bool IsAtOrUnder(string path, string ancestor)
    {
        if (ancestor.Length == 0)
        {
            return true;
        }

        if (!path.StartsWith(ancestor, StringComparison.Ordinal))
        {
            return false;
        }

        return path.Length == ancestor.Length || path[ancestor.Length] is '.' or '[';
    }
}
