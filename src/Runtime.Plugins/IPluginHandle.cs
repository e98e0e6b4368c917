using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;

namespace Runtime.Plugins;

/// <summary>
/// What a factory may use while building its plugin: the plugins created before it (in config
/// order, as the Go project's handle works) and the process's shared services.
/// </summary>
public interface IPluginHandle
{
    ILoggerFactory LoggerFactory { get; }

    TimeProvider TimeProvider { get; }

    /// <summary>Signalled when the process shuts down; background work started by a plugin stops on it.</summary>
    CancellationToken Stopping { get; }

    bool TryGetPlugin(string name, [NotNullWhen(true)] out IPlugin? plugin);

    /// <summary>A shared service registered by the host by its type, or null.</summary>
    T? GetService<T>()
        where T : class;
}
