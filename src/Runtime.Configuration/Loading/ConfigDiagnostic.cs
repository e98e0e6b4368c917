using Runtime.Configuration.Yaml;

namespace Runtime.Configuration.Loading;

/// <summary>An error or warning about a configuration file: the field path, the message, and the YAML position when known.</summary>
internal sealed record ConfigDiagnostic(string Path, string Message, SourcePosition? Position)
{
    /// <summary>Compiler style, so editors and CI logs link to the line: <c>epp.yaml:7:5: plugins[1].type: unknown plugin type "x"</c>.</summary>
    public string Format(string? source)
    {
        var location = Position is { } p ? $"{p.Line}:{p.Column}" : null;
        var prefix = (source, location) switch
        {
            (null, null) => string.Empty,
            (null, _) => $"{location}: ",
            (_, null) => $"{source}: ",
            _ => $"{source}:{location}: ",
        };
        return Path.Length == 0 ? prefix + Message : $"{prefix}{Path}: {Message}";
    }

    public override string ToString() => Format(null);
}
