using Runtime.Configuration.Model;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Validation;

namespace Runtime.Configuration.Validation;

/// <summary>
/// Checks the plugin names a plugin's parameters refer to (llm-d's <c>pluginRef</c> fields, e.g. a profile
/// handler's decider): each must be declared, anywhere in <c>plugins</c> (llm-d orders instances by these
/// references), and be of the kind the field needs.
/// </summary>
internal static class PluginReferenceCheck
{
    public static void Check(EndpointPickerConfig config, IReadOnlyDictionary<string, DeclaredPlugin> declared, ValidationErrors errors)
    {
        for (var i = 0; i < config.Plugins.Count; i++)
        {
            var spec = config.Plugins[i];
            if (!declared.TryGetValue(spec.EffectiveName, out var plugin) || plugin.Index != i || plugin.Registration?.Parameters is not IPluginReferenceSource source)
            {
                continue;
            }

            foreach (var reference in source.References(spec.Parameters ?? default, $"plugins[{i}].parameters"))
            {
                if (!declared.TryGetValue(reference.Name, out var target))
                {
                    errors.Report(reference.Path, reference.Missing);
                }
                else if (target.Registration is not null && !target.Is(reference.Kind))
                {
                    errors.Report(reference.Path, reference.WrongKind);
                }
            }
        }
    }
}
