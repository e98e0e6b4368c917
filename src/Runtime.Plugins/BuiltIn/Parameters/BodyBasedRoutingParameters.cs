using System.Text.Json.Serialization;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.BuiltIn.Parameters;

/// <summary>
/// Parameters of <c>body-field-to-header</c>: copy a top-level body field into a request header.
/// The Go project spells them <c>field_name</c>/<c>header_name</c>; llm-d <c>fieldName</c>/<c>headerName</c>.
/// Either spelling is accepted, not both.
/// </summary>
internal sealed record BodyFieldToHeaderParameters
{
    [JsonPropertyName("field_name")]
    public string? FieldNameSnake { get; init; }

    [JsonPropertyName("header_name")]
    public string? HeaderNameSnake { get; init; }

    [JsonPropertyName("fieldName")]
    public string? FieldNameCamel { get; init; }

    [JsonPropertyName("headerName")]
    public string? HeaderNameCamel { get; init; }

    [JsonIgnore]
    public string? FieldName => FieldNameSnake ?? FieldNameCamel;

    [JsonIgnore]
    public string? HeaderName => HeaderNameSnake ?? HeaderNameCamel;

    internal static void Rules(BodyFieldToHeaderParameters p, string path, ValidationErrors errors)
    {
        Check(p.FieldNameSnake, p.FieldNameCamel, "field_name", "fieldName", path, errors);
        Check(p.HeaderNameSnake, p.HeaderNameCamel, "header_name", "headerName", path, errors);
        if (p.HeaderName is { Length: > 0 } header && !IsHeaderToken(header))
        {
            errors.Report(FieldPath.Field(path, p.HeaderNameSnake is null ? "headerName" : "header_name"), $"\"{header}\" is not a valid HTTP header name");
        }
    }

    private static void Check(string? snake, string? camel, string snakeName, string camelName, string path, ValidationErrors errors)
    {
        if (snake is not null && camel is not null)
        {
            errors.Report(FieldPath.Field(path, camelName), $"set either {snakeName} or {camelName}, not both");
        }
        else if (string.IsNullOrEmpty(snake ?? camel))
        {
            errors.Report(FieldPath.Field(path, snakeName), "is required");
        }
    }

    private static bool IsHeaderToken(string name)
    {
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal)))
            {
                return false;
            }
        }

        return true;
    }
}
