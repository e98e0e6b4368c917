using System.Text.Json.Serialization;

namespace Runtime.Plugins.Listing;

/// <summary>Source-generated JSON for the plugin listing (native-AOT safe).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(PluginListing))]
public sealed partial class PluginListingJsonContext : JsonSerializerContext;
