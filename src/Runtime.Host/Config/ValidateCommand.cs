using System.Text.Json;
using Runtime.Configuration.Loading;
using Runtime.Configuration.Model;
using Runtime.Host.Cli;

namespace Runtime.Host.Config;

/// <summary>
/// <c>runtime validate</c>: loads an EndpointPickerConfig exactly as <c>serve</c> would and reports
/// every problem with its line, for CI pipelines and admission checks. Exit 0 valid, 1 invalid,
/// 2 bad usage.
/// </summary>
internal static class ValidateCommand
{
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        string? configFile = null;
        string? configText = null;
        var printEffective = false;
        var allowExperimental = false;
        var flags = new FlagSet();
        flags.String("config-file", string.Empty, "Path of the EndpointPickerConfig YAML file to check", v => configFile = v);
        flags.String("config-text", string.Empty, "The configuration as text, in lieu of a file (wins over --config-file, as in serve)", v => configText = v);
        flags.Bool("allow-experimental-plugins", false, "Accept Alpha plugin types, as serve does with the same flag (llm-d v0.10)", v => allowExperimental = v);
        flags.Bool("print-effective", false, "Print the effective configuration (with the injected defaults) as JSON when valid", v => printEffective = v);
        if (args is ["--help"] or ["-h"] or ["-help"])
        {
            output.WriteLine("Usage of runtime validate (no flags: checks the built-in default configuration):\n" + flags.Usage());
            return 0;
        }

        if (!flags.Parse(args))
        {
            return UsageErrors.Write(error, "validate", flags.Errors);
        }

        var plugins = HostPlugins.Build();
        if (!plugins.IsValid)
        {
            ConfigReport.WriteRegistrationErrors(plugins, error);
            return 1;
        }

        var result = new EndpointPickerConfigLoader(plugins.Registry) { AllowExperimentalPlugins = allowExperimental }.LoadFromFlags(configFile, configText);
        if (!result.IsValid)
        {
            ConfigReport.WriteErrors(result, error);
            ConfigReport.WriteWarnings(result, error);
            return 1;
        }

        ConfigReport.WriteWarnings(result, error);

        WriteSummary(result, plugins.Registry, output);
        if (printEffective)
        {
            output.WriteLine(EndpointPickerConfigJson.Serialize(result.Config!));
        }

        return 0;
    }

    private static void WriteSummary(ConfigLoadResult result, Plugins.Registry.PluginRegistry registry, TextWriter output)
    {
        var config = result.Config!;
        output.WriteLine($"{result.Source}: valid {config.Kind} ({config.ApiVersion})");
        output.WriteLine($"  plugins: {string.Join(", ", config.Plugins.Select(p => p.Name == p.Type ? p.Name : $"{p.Name} ({p.Type})"))}");
        foreach (var profile in config.SchedulingProfiles)
        {
            var refs = profile.Plugins.Select(r => r.Weight is { } w ? $"{r.PluginRef} x{w.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : r.PluginRef);
            output.WriteLine($"  profile {profile.Name}: {string.Join(", ", refs)}");
        }

        output.WriteLine($"  parser: {config.Parser?.PluginRef}; saturation detector: {config.SaturationDetector?.PluginRef}");
        var gates = result.FeatureGates?.EnabledGates ?? [];
        output.WriteLine($"  feature gates on: {(gates.Count == 0 ? "none" : string.Join(", ", gates))}");

        var missing = config.Plugins
            .Select(p => p.Type!)
            .Distinct(StringComparer.Ordinal)
            .Where(t => registry.TryGet(t, out var r) && r.Factory is null)
            .ToArray();
        if (missing.Length > 0)
        {
            // Every listed type has a factory (a test holds us to it); this guards a build assembled without one.
            output.WriteLine($"  note: no implementation of these types in this build, so serve would refuse this configuration: {string.Join(", ", missing)}");
        }
    }
}
