using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Runtime.Configuration.Model;

/// <summary>Source-generated binding of the configuration records (native-AOT safe, no reflection).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(EndpointPickerConfig))]
internal sealed partial class ConfigJsonContext : JsonSerializerContext
{
    /// <summary>For printing: quotes and apostrophes in names and parameters are written as themselves.</summary>
    public static ConfigJsonContext Readable { get; } = new(new JsonSerializerOptions
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
