using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Runtime.Plugins.Activation;

/// <summary>Process-wide services handed to plugin factories through <see cref="IPluginHandle"/>.</summary>
public sealed class PluginServices
{
    private readonly Dictionary<Type, object> _services = [];

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public CancellationToken Stopping { get; init; }

    /// <summary>Registers a shared service by its type (no reflection: the type is the key).</summary>
    public PluginServices Add<T>(T service)
        where T : class
    {
        _services[typeof(T)] = service;
        return this;
    }

    internal T? Get<T>()
        where T : class => _services.TryGetValue(typeof(T), out var service) ? (T)service : null;
}
