using System.Text;
using Runtime.Configuration.Loading;
using Runtime.Configuration.Yaml;
using Runtime.ControlPlane.Manifests;
using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.Validation;

namespace Runtime.Fuzz.Targets;

/// <summary>
/// The YAML → JSON → strictly bound <c>EndpointPickerConfig</c> loader (--config-file/--config-text).
/// Invariants: nothing throws, whatever the text; the result is valid exactly when it has a
/// configuration and no error; every error says something.
/// </summary>
internal static class ConfigYamlTarget
{
    private static readonly EndpointPickerConfigLoader s_loader = new(BuiltInPlugins.CreateBuilder().Build().Registry) { AllowExperimentalPlugins = true };

    public static void Run(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        var result = s_loader.LoadText(text, "fuzz.yaml");
        FuzzAssert.True(result.IsValid == (result.Errors.Count == 0 && result.Config is not null), "IsValid disagrees with the errors");
        FuzzAssert.True(result.Errors.Count > 0 || result.Config is not null, "neither a configuration nor an error");
        foreach (var error in result.Errors)
        {
            FuzzAssert.True(!string.IsNullOrWhiteSpace(error.Message), "an error without a message");
            error.Format("fuzz.yaml");
        }

        var errors = new ValidationErrors();
        YamlToJson.ConvertStream(text, errors, out _)?.ToList().ForEach(d => d.Dispose());
    }
}

/// <summary>
/// The manifest loader (--manifests-dir: InferencePools, objectives, rewrites, Pods, ConfigMaps,
/// EndpointLists in YAML or JSON files). Invariants: nothing throws; every problem is an error
/// with a message and a line inside the file; items carry lines inside the file too.
/// </summary>
internal static class ManifestsTarget
{
    /// <summary>Lines as YAML counts them: \n, \r\n, a lone \r, NEL, LS and PS each end one.</summary>
    private static int LineCount(string text)
    {
        var lines = 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is '\n' or '\u0085' or '\u2028' or '\u2029' || (c == '\r' && (i + 1 == text.Length || text[i + 1] != '\n')))
            {
                lines++;
            }
        }

        return lines;
    }

    public static void Run(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        var lines = LineCount(text);
        foreach (var name in new[] { "fuzz.yaml", "fuzz.json" })
        {
            var set = ManifestSetLoader.LoadText(name, text, "default");
            foreach (var problem in set.Errors.Concat(set.Warnings))
            {
                FuzzAssert.True(!string.IsNullOrWhiteSpace(problem.Message), "a manifest error without a message");
                FuzzAssert.True(problem.Line >= 0 && problem.Line <= lines, $"error line {problem.Line} outside the file's {lines} lines");
            }

            foreach (var item in set.Items)
            {
                FuzzAssert.True(item.Line >= 0 && item.Line <= lines, $"item line {item.Line} outside the file's {lines} lines");
                FuzzAssert.True(!string.IsNullOrEmpty(item.Resource.Meta.Name), "a resource without a name");
            }
        }
    }
}

/// <summary>
/// The EndpointList decoder (an EndpointList manifest, JSON or YAML) and the --endpoints list
/// (<c>name=host:port,...</c>). Invariants: nothing throws; a parsed list has no problem and every
/// endpoint has an address and a port in range; a rejected one says why.
/// </summary>
internal static class EndpointListTarget
{
    public static void Run(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        ManifestsTarget.Run(input);
        if (StaticEndpointList.TryParse(text, out var endpoints, out var problems))
        {
            FuzzAssert.True(problems.Count == 0, "a parsed endpoint list with problems");
            foreach (var endpoint in endpoints)
            {
                FuzzAssert.True(endpoint.Port is > 0 and <= 65535, $"endpoint port {endpoint.Port} out of range");
            }
        }
        else
        {
            FuzzAssert.True(problems.Count > 0 && problems.All(p => !string.IsNullOrWhiteSpace(p)), "a rejected endpoint list without a reason");
        }
    }
}
