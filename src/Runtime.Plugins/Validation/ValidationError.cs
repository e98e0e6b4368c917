namespace Runtime.Plugins.Validation;

/// <summary>One problem found in configuration or plugin parameters, at the path of the offending field.</summary>
/// <param name="Path">Field path in the document, e.g. <c>plugins[2].parameters.threshold</c>; empty for the whole document.</param>
/// <param name="Message">What is wrong, phrased for the operator who wrote the file.</param>
public sealed record ValidationError(string Path, string Message)
{
    public override string ToString() => Path.Length == 0 ? Message : $"{Path}: {Message}";
}
