using System.Text.Json.Serialization;

namespace Runtime.Configuration.Model;

/// <summary>A named scheduling profile: the filters, scorers (weighted) and picker it runs.</summary>
public sealed record SchedulingProfileConfig
{
    [JsonPropertyName("name")]
    public string? Name { get; init; }

    [JsonPropertyName("plugins")]
    public IReadOnlyList<SchedulingPluginRef> Plugins { get; init; } = [];
}

/// <summary>A reference from a profile to a plugin instance; <c>weight</c> applies to scorers (default 1).</summary>
public sealed record SchedulingPluginRef
{
    [JsonPropertyName("pluginRef")]
    public string? PluginRef { get; init; }

    [JsonPropertyName("weight")]
    public double? Weight { get; init; }
}
