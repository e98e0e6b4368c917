using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Runtime.Plugins.Lifecycle;

/// <summary>
/// Announces each use of a deprecated plugin type when a configuration is loaded: one warning line
/// naming the replacement, and a counter (<c>runtime_plugins_deprecated_loads_total</c>, tag
/// <c>type</c>) so fleets can find configs that need migrating before the type is removed.
/// </summary>
public sealed partial class DeprecationReporter
{
    private static readonly Meter s_meter = new("Runtime.Plugins");
    private static readonly Counter<long> s_loads = s_meter.CreateCounter<long>(
        "runtime_plugins_deprecated_loads_total", unit: null, description: "Plugin instances of deprecated types loaded from configuration");

    private readonly ILogger _logger;
    private long _reported;

    public DeprecationReporter(ILogger logger) => _logger = logger;

    /// <summary>How many deprecated instances this reporter has announced (for tests and summaries).</summary>
    public long Reported => Interlocked.Read(ref _reported);

    public void Report(string instanceName, string typeName, PluginDeprecation deprecation)
    {
        Interlocked.Increment(ref _reported);
        s_loads.Add(1, new KeyValuePair<string, object?>("type", typeName));
        Log.DeprecatedPluginLoaded(_logger, instanceName, typeName, deprecation.Describe());
    }

    private static partial class Log
    {
        [LoggerMessage(100, LogLevel.Warning, "Plugin \"{Name}\" uses deprecated type \"{Type}\": {Guidance}")]
        public static partial void DeprecatedPluginLoaded(ILogger logger, string name, string type, string guidance);
    }
}
