using System.Text.Json;
using System.Text.Json.Serialization;

namespace Runtime.Plugins.Values;

/// <summary>
/// A duration written the Go way (<c>30s</c>, <c>200ms</c>, <c>1m30s</c>), as Kubernetes'
/// <c>metav1.Duration</c> fields accept it in the Go project's configuration.
/// </summary>
[JsonConverter(typeof(DurationJsonConverter))]
public readonly record struct Duration(TimeSpan Value)
{
    public const string Expected = "expected a duration such as \"30s\", \"200ms\" or \"1m30s\" (units ns, us, ms, s, m, h)";

    public static bool TryParse(JsonElement element, out Duration duration, out string error)
    {
        duration = default;
        if (element.ValueKind != JsonValueKind.String)
        {
            error = $"{Expected}, got {JsonKinds.Describe(element.ValueKind)}";
            return false;
        }

        var text = element.GetString()!;
        if (!GoDuration.TryParse(text, out var value))
        {
            error = $"invalid duration \"{text}\": {Expected}";
            return false;
        }

        duration = new Duration(value);
        error = string.Empty;
        return true;
    }

    public override string ToString() => GoDuration.Format(Value);
}

/// <summary>Reads Go duration strings; writes them back in Go's format.</summary>
public sealed class DurationJsonConverter : JsonConverter<Duration>
{
    public override Duration Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        return text is not null && GoDuration.TryParse(text, out var value)
            ? new Duration(value)
            : throw new JsonException($"invalid duration: {Duration.Expected}");
    }

    public override void Write(Utf8JsonWriter writer, Duration value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
