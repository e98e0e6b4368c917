using System.Diagnostics.CodeAnalysis;
using Runtime.Plugins.Registry;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.Activation;

/// <summary>
/// Builds the plugin instances of a validated configuration, in order, each factory seeing the
/// plugins built before it. Every failure is collected; a throwing factory is a reported failure,
/// not a crash.
/// </summary>
public static class PluginActivator
{
    public static PluginActivation Activate(PluginRegistry registry, IEnumerable<PluginInstanceSpec> specs, PluginServices services) =>
        Activate(registry, specs, services, reuse: null);

    /// <summary>
    /// As <see cref="Activate(PluginRegistry, IEnumerable{PluginInstanceSpec}, PluginServices)"/>, but an
    /// entry for which <paramref name="reuse"/> returns an instance keeps that instance instead of
    /// building a new one (a config reload keeps unchanged plugins, and the state they hold).
    /// </summary>
    internal static PluginActivation Activate(PluginRegistry registry, IEnumerable<PluginInstanceSpec> specs, PluginServices services, Func<PluginInstanceSpec, IPlugin?>? reuse)
    {
        var handle = new Handle(services);
        var errors = new List<ValidationError>();
        var missing = new List<ValidationError>();
        foreach (var spec in specs)
        {
            if (!registry.TryGet(spec.TypeName, out var registration))
            {
                errors.Add(new ValidationError(spec.Path, $"plugin type \"{spec.TypeName}\" is not registered"));
                continue;
            }

            if (registration.Factory is null)
            {
                missing.Add(new ValidationError(spec.Path, $"plugin type \"{spec.TypeName}\" ({PluginKindNames.Describe(registration.Kinds)}) has no implementation in this build yet"));
                continue;
            }

            if (reuse?.Invoke(spec) is { } kept && kept.Name == spec.Name && kept.TypeName == spec.TypeName)
            {
                handle.Add(spec.Name, kept);
                continue;
            }

            PluginResult result;
            try
            {
                result = registration.Factory(spec.Name, spec.Parameters, handle);
            }
#pragma warning disable CA1031 // A plugin's bug must surface as a config error, never take the process down.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                result = PluginResult.Failure($"factory threw {ex.GetType().Name}: {ex.Message}");
            }

            // A plugin must answer to the name and type the configuration gave it, or references and logs would disagree.
            var error = result.Plugin switch
            {
                null => result.Error ?? "the factory returned nothing",
                { } p when p.Name != spec.Name || p.TypeName != spec.TypeName => $"the factory returned a plugin named \"{p.Name}\" of type \"{p.TypeName}\"",
                _ => null,
            };
            if (error is not null)
            {
                errors.Add(new ValidationError(spec.Path, $"failed to create plugin \"{spec.Name}\" (type {spec.TypeName}): {error}"));
                continue;
            }

            handle.Add(spec.Name, result.Plugin!);
        }

        return new PluginActivation(handle.Plugins, errors, missing);
    }

    private sealed class Handle(PluginServices services) : IPluginHandle
    {
        private readonly Dictionary<string, IPlugin> _plugins = new(StringComparer.Ordinal);

        public IReadOnlyDictionary<string, IPlugin> Plugins => _plugins;

        public Microsoft.Extensions.Logging.ILoggerFactory LoggerFactory => services.LoggerFactory;

        public TimeProvider TimeProvider => services.TimeProvider;

        public CancellationToken Stopping => services.Stopping;

        public bool TryGetPlugin(string name, [NotNullWhen(true)] out IPlugin? plugin) => _plugins.TryGetValue(name, out plugin);

        public T? GetService<T>()
            where T : class => services.Get<T>();

        public void Add(string name, IPlugin plugin) => _plugins[name] = plugin;
    }
}

/// <summary>The plugins that were built, and every entry that could not be.</summary>
/// <param name="Errors">Entries whose factory failed (or threw): a broken configuration or plugin.</param>
/// <param name="NotImplemented">Entries whose type has no implementation in this build yet: a known gap, not a failure of the config.</param>
public sealed record PluginActivation(IReadOnlyDictionary<string, IPlugin> Plugins, IReadOnlyList<ValidationError> Errors, IReadOnlyList<ValidationError> NotImplemented)
{
    public bool IsComplete => Errors.Count == 0 && NotImplemented.Count == 0;
}
