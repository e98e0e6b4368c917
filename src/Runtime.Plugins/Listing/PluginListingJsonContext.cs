using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Runtime.Plugins.Lifecycle;

namespace Runtime.Plugins.Listing;

/// <summary>Source-generated JSON for the plugin listing (native-AOT safe).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(PluginListing))]
internal sealed partial class PluginListingJsonContext : JsonSerializerContext
{
    /// <summary>For terminals and files rather than HTML: apostrophes and the like are written as themselves.</summary>
    public static PluginListingJsonContext Readable { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter<StabilityLevel>() },
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
