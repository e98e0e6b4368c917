namespace Runtime.BodyParsing;

/// <summary>The outcome of <see cref="JsonBodyScanner.Scan"/>. Everything but <see cref="Ok"/> is a 400 for the client.</summary>
public enum JsonBodyStatus
{
    /// <summary>No scan has run (or the scanner was cleared).</summary>
    None = 0,

    /// <summary>A well-formed JSON object; the requested fields are recorded.</summary>
    Ok,

    /// <summary>No bytes at all (a body of only whitespace is <see cref="InvalidJson"/>, as for JsonDocument).</summary>
    Empty,

    /// <summary>Malformed JSON: truncated, trailing content, bad tokens, nesting deeper than the limit.</summary>
    InvalidJson,

    /// <summary>Well-formed start, but the top-level value is not an object (an array, a string, ...).</summary>
    NotAnObject,

    /// <summary>Structurally valid, but a string holds bytes that are not UTF-8 (RFC 8259 §8.1 requires UTF-8).</summary>
    InvalidUtf8,
}

/// <summary>Constant error texts for <see cref="JsonBodyStatus"/>: reporting a bad body allocates nothing.</summary>
public static class JsonBodyStatusText
{
    public static string Describe(JsonBodyStatus status) => status switch
    {
        JsonBodyStatus.Ok => "ok",
        JsonBodyStatus.Empty => "request body is empty",
        JsonBodyStatus.InvalidJson => "request body is not valid JSON",
        JsonBodyStatus.NotAnObject => "request body must be a JSON object",
        JsonBodyStatus.InvalidUtf8 => "request body is not valid UTF-8",
        _ => "request body was not parsed",
    };
}
