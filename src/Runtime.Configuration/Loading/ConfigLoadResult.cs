using Runtime.Configuration.Model;
using Runtime.Plugins.Lifecycle;
using Runtime.Plugins.Registry;

namespace Runtime.Configuration.Loading;

/// <summary>
/// The outcome of loading a configuration: the effective configuration (defaults applied) when
/// valid, otherwise every error found, each with its path and line.
/// </summary>
internal sealed record ConfigLoadResult
{
    /// <summary>Where the text came from: a file path, <c>--config-text</c>, or the built-in default.</summary>
    public required string Source { get; init; }

    public EndpointPickerConfig? Config { get; init; }

    public FeatureGateSet? FeatureGates { get; init; }

    public IReadOnlyList<ConfigDiagnostic> Errors { get; init; } = [];

    /// <summary>Accepted but worth attention: settings that are ignored, legacy fields.</summary>
    public IReadOnlyList<ConfigDiagnostic> Warnings { get; init; } = [];

    public IReadOnlyList<DeprecatedPluginUse> DeprecatedPlugins { get; init; } = [];

    public bool IsValid => Errors.Count == 0 && Config is not null;
}

/// <summary>A plugin instance of a deprecated type: it loads, and the host reports it (log line and metric).</summary>
internal sealed record DeprecatedPluginUse(string Name, string TypeName, PluginDeprecation Deprecation, ConfigDiagnostic Location);
