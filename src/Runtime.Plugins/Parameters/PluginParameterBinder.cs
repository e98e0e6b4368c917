using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.Parameters;

/// <summary>Semantic checks of bound parameters (ranges, combinations); report at <c>FieldPath.Field(path, "name")</c>.</summary>
public delegate void ParameterRules<in T>(T parameters, string path, ValidationErrors errors);

/// <summary>
/// Binds <c>parameters</c> to a typed record through a source-generated <see cref="JsonTypeInfo{T}"/>,
/// strictly (unknown fields are errors), then applies the type's own rules. Plugin factories call
/// <see cref="TryBind"/> to get the same record the validator checked.
/// </summary>
public sealed class PluginParameterBinder<T> : IPluginParameterBinder
    where T : class
{
    private static readonly JsonElement s_empty = JsonDocument.Parse("{}").RootElement;

    private readonly JsonTypeInfo<T> _typeInfo;
    private readonly ParameterRules<T>? _rules;
    private readonly bool _requireParameters;

    /// <param name="requireParameters">The type cannot run on defaults: absent parameters are an error (GIE's factory fails on nil parameters).</param>
    public PluginParameterBinder(JsonTypeInfo<T> typeInfo, ParameterRules<T>? rules = null, bool requireParameters = false)
    {
        _typeInfo = typeInfo;
        _rules = rules;
        _requireParameters = requireParameters;
        FieldNames = StrictJsonBinder.FieldNames(typeInfo);
    }

    public IReadOnlyList<string> FieldNames { get; }

    public void Validate(JsonElement parameters, string path, ValidationErrors errors) => TryBind(parameters, path, errors, out _);

    /// <summary>Absent or null parameters bind to the record's defaults, as Go leaves its struct at defaults.</summary>
    public bool TryBind(JsonElement parameters, string path, ValidationErrors errors, out T? value)
    {
        var absent = parameters.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null;
        if (absent && _requireParameters)
        {
            errors.Report(path, "is required: this plugin type has no usable defaults");
            value = null;
            return false;
        }

        var input = absent ? s_empty : parameters;
        var before = errors.Count;
        if (!StrictJsonBinder.Default.TryBind(input, _typeInfo, path, errors, out value) || value is null)
        {
            return false;
        }

        _rules?.Invoke(value, path, errors);
        return errors.Count == before;
    }
}

/// <summary>Binders shared by many registrations.</summary>
public static class PluginParameterBinders
{
    /// <summary>For types that take no parameters: absent, null or <c>{}</c> is fine, any field is an error.</summary>
    public static IPluginParameterBinder None { get; } = new NoParameters();

    /// <summary>Accepts anything: for types that are refused for another reason, so their parameters add no noise.</summary>
    public static IPluginParameterBinder Any { get; } = new AnyParameters();

    private sealed class AnyParameters : IPluginParameterBinder
    {
        public IReadOnlyList<string> FieldNames => [];

        public void Validate(JsonElement parameters, string path, ValidationErrors errors)
        {
        }
    }

    private sealed class NoParameters : IPluginParameterBinder
    {
        public IReadOnlyList<string> FieldNames => [];

        public void Validate(JsonElement parameters, string path, ValidationErrors errors)
        {
            switch (parameters.ValueKind)
            {
                case JsonValueKind.Undefined or JsonValueKind.Null:
                    return;
                case JsonValueKind.Object:
                    foreach (var property in parameters.EnumerateObject())
                    {
                        errors.ReportInvalid(FieldPath.Field(path, property.Name), $"unknown field \"{property.Name}\" (this plugin type takes no parameters)");
                    }

                    return;
                default:
                    errors.ReportInvalid(path, "this plugin type takes no parameters");
                    return;
            }
        }
    }
}
