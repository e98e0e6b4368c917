using System.Text.Json;
using System.Text.Json.Serialization;

namespace Runtime.Configuration.Model;

/// <summary>One plugin instance: <c>{name, type, parameters}</c>. The name defaults to the type.</summary>
public sealed record PluginSpec
{
    [JsonPropertyName("name")]
    public string? Name { get; init; }

    [JsonPropertyName("type")]
    public string? Type { get; init; }

    /// <summary>Passed to the type's factory as JSON; checked by the type's parameter binder.</summary>
    [JsonPropertyName("parameters")]
    public JsonElement? Parameters { get; init; }

    /// <summary>The name other sections use: <see cref="Name"/>, or the type when no name is given.</summary>
    [JsonIgnore]
    public string EffectiveName => string.IsNullOrEmpty(Name) ? Type ?? string.Empty : Name;
}
