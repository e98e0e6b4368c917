using Runtime.Configuration.Loading;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.Registry;

namespace Runtime.Configuration.Tests;

/// <summary>The built-in registry (built once) and helpers to load configs against it.</summary>
internal static class TestConfigs
{
    public static PluginRegistry Registry { get; } = BuiltInPlugins.CreateBuilder().Build().Registry;

    public static EndpointPickerConfigLoader Loader { get; } = new(Registry);

    public const string Header = """
        apiVersion: inference.networking.x-k8s.io/v1alpha1
        kind: EndpointPickerConfig

        """;

    public static ConfigLoadResult Load(string yaml) => Loader.LoadText(yaml, "test.yaml");

    public static ConfigLoadResult LoadSample(string name) => Loader.LoadFile(Path.Combine(AppContext.BaseDirectory, "Samples", name));

    /// <summary>Errors as the user sees them: <c>test.yaml:line:col: path: message</c>.</summary>
    public static string[] Errors(ConfigLoadResult result) => result.Errors.Select(e => e.Format(result.Source)).ToArray();

    public static string[] Warnings(ConfigLoadResult result) => result.Warnings.Select(e => e.Format(result.Source)).ToArray();

    /// <summary>Loads and asserts exactly one error, returning it as the user sees it.</summary>
    public static string SingleError(string yaml)
    {
        var result = Load(yaml);
        Assert.False(result.IsValid);
        return Assert.Single(Errors(result));
    }
}
