using System.Text.Json;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.Parameters;

/// <summary>
/// Checks a plugin entry's <c>parameters</c> before anything is built, so <c>runtime validate</c>
/// catches bad parameters even for plugin types whose implementation is not in this build.
/// </summary>
public interface IPluginParameterBinder
{
    /// <summary>The parameter names this type accepts, for listings.</summary>
    IReadOnlyList<string> FieldNames { get; }

    /// <summary>Reports every problem under <paramref name="path"/> (the entry's <c>parameters</c> path).</summary>
    /// <param name="parameters">The value, or <see cref="JsonValueKind.Undefined"/> when the entry has none.</param>
    void Validate(JsonElement parameters, string path, ValidationErrors errors);
}
