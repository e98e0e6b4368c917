using System.Text.Json.Serialization;

namespace Runtime.Configuration.Model;

/// <summary>Source-generated binding of the configuration records (native-AOT safe, no reflection).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(EndpointPickerConfig))]
internal sealed partial class ConfigJsonContext : JsonSerializerContext;
