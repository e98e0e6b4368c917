using System.Text.Json.Serialization;

namespace Runtime.Configuration.Model;

/// <summary>A named scheduling profile: the filters, scorers (weighted) and picker it runs.</summary>
/// <remarks>
/// Lists default to empty through constructor parameters: the JSON source generator resets init-only properties
/// absent from the input to default(T), losing initializers (dotnet/runtime#84484), but honours
/// constructor parameter defaults.
/// </remarks>
public sealed record SchedulingProfileConfig(string? Name = null, IReadOnlyList<SchedulingPluginRef>? Plugins = null)
{
    [JsonPropertyName("name")]
    public string? Name { get; init; } = Name;

    [JsonPropertyName("plugins")]
    public IReadOnlyList<SchedulingPluginRef> Plugins { get; init; } = Plugins ?? [];
}

/// <summary>A reference from a profile to a plugin instance; <c>weight</c> applies to scorers (default 1).</summary>
public sealed record SchedulingPluginRef
{
    [JsonPropertyName("pluginRef")]
    public string? PluginRef { get; init; }

    [JsonPropertyName("weight")]
    public double? Weight { get; init; }
}
