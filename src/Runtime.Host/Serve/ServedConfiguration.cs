using Microsoft.Extensions.Logging;
using Runtime.Configuration.Loading;
using Runtime.Plugins;
using Runtime.Plugins.Activation;
using Runtime.Plugins.Lifecycle;
using Runtime.Plugins.Registry;

namespace Runtime.Host.Serve;

/// <summary>A validated configuration and the registry it was validated against, ready to serve.</summary>
internal sealed partial record ServedConfiguration(PluginRegistry Registry, ConfigLoadResult Config)
{
    /// <summary>
    /// Logs what was loaded (warnings, deprecated plugins with their metric) and builds the plugin
    /// instances. A type without an implementation in this build is an error like any other failure
    /// (the host refuses to start rather than run without it); none is listed as available.
    /// </summary>
    /// <param name="reuse">On a reload: the running instance to keep for an entry, or null to build it anew.</param>
    public PluginActivation Activate(ILoggerFactory loggers, PluginServices services, Func<PluginInstanceSpec, IPlugin?>? reuse = null)
    {
        var logger = loggers.CreateLogger("Runtime.Configuration");
        var config = Config.Config!;
        Log.Loaded(logger, Config.Source, config.Plugins.Count, string.Join(", ", config.SchedulingProfiles.Select(p => p.Name)), string.Join(", ", Config.FeatureGates?.EnabledGates ?? []));
        foreach (var warning in Config.Warnings)
        {
            Log.Warning(logger, warning.Format(Config.Source));
        }

        var deprecations = new DeprecationReporter(loggers.CreateLogger<DeprecationReporter>());
        foreach (var use in Config.DeprecatedPlugins)
        {
            deprecations.Report(use.Name, use.TypeName, use.Deprecation);
        }

        var specs = config.Plugins.Select((p, i) => new PluginInstanceSpec(p.Name!, p.Type!, p.Parameters ?? default, $"plugins[{i}]"));
        var activation = PluginActivator.Activate(Registry, specs, services, reuse);
        if (activation.NotImplemented.Count > 0)
        {
            var types = config.Plugins.Select(p => p.Type!).Distinct(StringComparer.Ordinal).Where(t => Registry.TryGet(t, out var r) && r.Factory is null);
            Log.NotImplemented(logger, string.Join(", ", types));
            return activation with { Errors = [.. activation.Errors, .. activation.NotImplemented] };
        }

        return activation;
    }

    private static partial class Log
    {
        [LoggerMessage(10, LogLevel.Information, "Configuration {Source} loaded: {PluginCount} plugins, scheduling profiles [{Profiles}], feature gates on [{Gates}]")]
        public static partial void Loaded(ILogger logger, string source, int pluginCount, string profiles, string gates);

        [LoggerMessage(11, LogLevel.Warning, "Configuration: {Warning}")]
        public static partial void Warning(ILogger logger, string warning);

        [LoggerMessage(12, LogLevel.Error, "Configured plugin types without an implementation in this build: {Types}")]
        public static partial void NotImplemented(ILogger logger, string types);
    }
}
