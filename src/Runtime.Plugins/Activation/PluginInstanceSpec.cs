using System.Text.Json;

namespace Runtime.Plugins.Activation;

/// <summary>One plugin entry to build: its instance name, type, parameters and where it came from (for errors).</summary>
public sealed record PluginInstanceSpec(string Name, string TypeName, JsonElement Parameters, string Path);
