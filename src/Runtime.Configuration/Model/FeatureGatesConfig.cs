using System.Text.Json;
using System.Text.Json.Serialization;
using Runtime.Plugins.Validation;
using Runtime.Plugins.Values;

namespace Runtime.Configuration.Model;

/// <summary>
/// The <c>featureGates</c> section in either form: GIE's list (<c>[flowControl]</c>, llm-d also
/// writes <c>flowControl=false</c>) or a map of booleans (<c>{flowControl: true}</c>).
/// </summary>
[JsonConverter(typeof(FeatureGatesJsonConverter))]
public sealed record FeatureGatesConfig(IReadOnlyList<FeatureGateSetting> Settings)
{
    /// <summary>Checks the section's shape for the strict binder; entry-level problems are the validator's.</summary>
    internal static bool CheckShape(JsonElement value, string path, ValidationErrors errors)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Array:
                var index = 0;
                var valid = true;
                foreach (var item in value.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                    {
                        errors.ReportInvalid(FieldPath.Index(path, index), $"expected a feature gate name, got {JsonKinds.Describe(item.ValueKind)}");
                        valid = false;
                    }

                    index++;
                }

                return valid;
            case JsonValueKind.Object:
                var ok = true;
                foreach (var property in value.EnumerateObject())
                {
                    if (property.Value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        errors.ReportInvalid(FieldPath.Field(path, property.Name), $"expected true or false, got {JsonKinds.Describe(property.Value.ValueKind)}");
                        ok = false;
                    }
                }

                return ok;
            default:
                errors.ReportInvalid(path, $"expected a list of gate names or a map of gate: true|false, got {JsonKinds.Describe(value.ValueKind)}");
                return false;
        }
    }
}

/// <param name="Name">The gate name.</param>
/// <param name="Enabled">The requested state.</param>
/// <param name="PathSuffix">Where it was written relative to <c>featureGates</c>: <c>[0]</c> or <c>.flowControl</c>.</param>
/// <param name="Problem">Why the entry could not be read (a list entry like <c>flowControl=maybe</c>), or null.</param>
public sealed record FeatureGateSetting(string Name, bool Enabled, string PathSuffix, string? Problem = null);

public sealed class FeatureGatesJsonConverter : JsonConverter<FeatureGatesConfig>
{
    public override FeatureGatesConfig Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        var settings = new List<FeatureGateSetting>();
        if (root.ValueKind == JsonValueKind.Array)
        {
            var index = 0;
            foreach (var item in root.EnumerateArray())
            {
                settings.Add(ParseListEntry(item.GetString() ?? string.Empty, $"[{index++}]"));
            }
        }
        else if (root.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in root.EnumerateObject())
            {
                settings.Add(new FeatureGateSetting(property.Name, property.Value.ValueKind == JsonValueKind.True, $".{property.Name}"));
            }
        }
        else
        {
            throw new JsonException("featureGates must be a list or a map");
        }

        return new FeatureGatesConfig(settings);
    }

    public override void Write(Utf8JsonWriter writer, FeatureGatesConfig value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (var setting in value.Settings)
        {
            writer.WriteBoolean(setting.Name, setting.Enabled);
        }

        writer.WriteEndObject();
    }

    private static FeatureGateSetting ParseListEntry(string text, string pathSuffix)
    {
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        if (eq < 0)
        {
            return new FeatureGateSetting(text, true, pathSuffix);
        }

        var name = text[..eq];
        // llm-d parses the value with Go's strconv.ParseBool.
        return text[(eq + 1)..] switch
        {
            "1" or "t" or "T" or "TRUE" or "true" or "True" => new FeatureGateSetting(name, true, pathSuffix),
            "0" or "f" or "F" or "FALSE" or "false" or "False" => new FeatureGateSetting(name, false, pathSuffix),
            var other => new FeatureGateSetting(name, false, pathSuffix, $"\"{text}\": a list entry is a gate name, optionally followed by =true or =false (got \"{other}\")"),
        };
    }
}
