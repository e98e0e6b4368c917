using System.Text.Json;

namespace Runtime.Plugins;

/// <summary>
/// Builds a plugin instance. <paramref name="parameters"/> is the <c>parameters</c> value of the
/// config entry, already checked by the registration's parameter binder; it is
/// <see cref="JsonValueKind.Undefined"/> when the entry has none.
/// </summary>
public delegate PluginResult PluginFactory(string name, JsonElement parameters, IPluginHandle handle);

/// <summary>A factory's outcome: the plugin, or why it could not be built (never an exception).</summary>
public readonly record struct PluginResult
{
    private PluginResult(IPlugin? plugin, string? error)
    {
        Plugin = plugin;
        Error = error;
    }

    public IPlugin? Plugin { get; }

    public string? Error { get; }

    public static PluginResult Success(IPlugin plugin) => new(plugin, null);

    public static PluginResult Failure(string error) => new(null, error);
}
