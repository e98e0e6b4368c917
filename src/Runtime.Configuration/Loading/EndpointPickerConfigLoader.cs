using Runtime.Configuration.Model;
using Runtime.Configuration.Validation;
using Runtime.Configuration.Yaml;
using Runtime.Plugins.Registry;
using Runtime.Plugins.Validation;

namespace Runtime.Configuration.Loading;

/// <summary>
/// Loads an <c>EndpointPickerConfig</c>: YAML → JSON (YamlDotNet node model) → records bound by a
/// source-generated context, strictly (unknown fields are errors) → validation against the plugin
/// registry → the Go project's defaults. Every problem is reported, each with its path and line.
/// </summary>
internal sealed class EndpointPickerConfigLoader(PluginRegistry registry)
{
    private static readonly StrictJsonBinder s_binder = new([new(typeof(FeatureGatesConfig), FeatureGatesConfig.CheckShape)]);

    public const string ConfigTextSource = "<config-text>";

    /// <summary>
    /// <c>--allow-experimental-plugins</c> (llm-d v0.10): without it, a declared plugin whose type is
    /// Alpha is an error with llm-d's message. GIE v1.5.0 has no such flag, and none of its types is Alpha.
    /// </summary>
    public bool AllowExperimentalPlugins { get; init; }

    /// <summary>Loads from <c>--config-text</c> when given (as the Go binary does), else <c>--config-file</c>, else the default.</summary>
    public ConfigLoadResult LoadFromFlags(string? configFile, string? configText)
    {
        if (!string.IsNullOrEmpty(configText))
        {
            var result = LoadText(configText, ConfigTextSource);
            return string.IsNullOrEmpty(configFile) ? result : result with
            {
                Warnings = [new ConfigDiagnostic(string.Empty, $"both --config-file ({configFile}) and --config-text are set; using --config-text, as the Go endpoint picker does", null), .. result.Warnings],
            };
        }

        return string.IsNullOrEmpty(configFile) ? LoadDefault() : LoadFile(configFile);
    }

    public ConfigLoadResult LoadDefault() => LoadText(DefaultEndpointPickerConfig.Yaml, DefaultEndpointPickerConfig.Source);

    public ConfigLoadResult LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            // Our own words: the native-AOT binary carries resource keys, not texts, for framework messages.
            var reason = ex switch
            {
                FileNotFoundException or DirectoryNotFoundException => "no such file",
                UnauthorizedAccessException => "permission denied",
                _ => ex.Message,
            };
            return new ConfigLoadResult { Source = path, Errors = [new ConfigDiagnostic(string.Empty, $"cannot read the configuration file: {reason}", null)] };
        }

        return LoadText(text, path);
    }

    public ConfigLoadResult LoadText(string yaml, string source)
    {
        var errors = new ValidationErrors();
        using var document = YamlToJson.Convert(yaml, errors, out var syntaxPosition);
        if (document is null)
        {
            return Result(source, errors, SourceMap.Empty, syntaxPosition);
        }

        if (!s_binder.TryBind(document.Json.RootElement, ConfigJsonContext.Default.EndpointPickerConfig, string.Empty, errors, out var config) || config is null)
        {
            return Result(source, errors, document.Positions);
        }

        var validated = new ConfigValidator(registry, AllowExperimentalPlugins).Validate(config, errors);
        if (errors.HasErrors)
        {
            return Result(source, errors, document.Positions);
        }

        return Result(source, errors, document.Positions) with
        {
            Config = ConfigDefaults.Apply(config, validated.Gates, registry),
            FeatureGates = validated.Gates,
            DeprecatedPlugins = validated.Deprecated.Select(d => new DeprecatedPluginUse(
                d.Plugin.Name,
                d.Plugin.Registration!.TypeName,
                d.Plugin.Registration.Deprecation!,
                Diagnostic(d.Path, $"plugin type \"{d.Plugin.Registration.TypeName}\" is deprecated: {d.Plugin.Registration.Deprecation!.Describe()}", document.Positions))).ToArray(),
        };
    }

    private static ConfigLoadResult Result(string source, ValidationErrors errors, SourceMap positions, SourcePosition? rootPosition = null) => new()
    {
        Source = source,
        Errors = errors.Errors.Select(e => Diagnostic(e.Path, e.Message, positions, rootPosition)).ToArray(),
        Warnings = errors.Warnings.Select(w => Diagnostic(w.Path, w.Message, positions)).ToArray(),
    };

    private static ConfigDiagnostic Diagnostic(string path, string message, SourceMap positions, SourcePosition? rootPosition = null) =>
        new(path, message, path.Length == 0 && rootPosition is not null ? rootPosition : positions.Find(path));
}
