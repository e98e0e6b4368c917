using System.Text.Json;

namespace Runtime.Configuration.Model;

/// <summary>Writes a configuration as JSON (valid YAML, so the output loads again).</summary>
public static class EndpointPickerConfigJson
{
    public static string Serialize(EndpointPickerConfig config) => JsonSerializer.Serialize(config, ConfigJsonContext.Readable.EndpointPickerConfig);
}
