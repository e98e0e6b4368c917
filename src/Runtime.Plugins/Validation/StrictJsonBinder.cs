using System.Buffers;
using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Runtime.Plugins.Values;

namespace Runtime.Plugins.Validation;

/// <summary>
/// Checks one leaf value (a type bound by a custom converter), reporting problems at or under
/// <paramref name="path"/>; returns false when the value cannot be bound and must be dropped.
/// </summary>
internal delegate bool LeafValidator(JsonElement value, string path, ValidationErrors errors);

/// <summary>
/// Binds JSON to records through their source-generated <see cref="JsonTypeInfo"/>, strictly: unknown
/// fields and values of the wrong shape are reported at their path, every one of them, instead of
/// failing on the first with a .NET type name in the message.
/// </summary>
/// <remarks>
/// The document is walked against the type metadata the System.Text.Json source generator emits
/// (no reflection), and a sanitized copy without the offending values is bound, so the caller can
/// go on to semantic validation and report those problems in the same run. Paths of dropped values
/// are marked invalid in <see cref="ValidationErrors"/> so follow-up checks do not repeat them.
/// </remarks>
internal sealed class StrictJsonBinder
{
    private readonly FrozenDictionary<Type, LeafValidator> _leaves;

    public StrictJsonBinder(IEnumerable<KeyValuePair<Type, LeafValidator>>? leafValidators = null)
    {
        var leaves = new Dictionary<Type, LeafValidator>
        {
            [typeof(Quantity)] = static (value, path, errors) => Check(Quantity.TryParse(value, out _, out var error), error, path, errors),
            [typeof(Duration)] = static (value, path, errors) => Check(Duration.TryParse(value, out _, out var error), error, path, errors),
        };
        foreach (var (type, validator) in leafValidators ?? [])
        {
            leaves[type] = validator;
        }

        _leaves = leaves.ToFrozenDictionary();
    }

    /// <summary>The binder for plugin parameters and configuration values (quantities and durations built in).</summary>
    public static StrictJsonBinder Default { get; } = new();

    /// <summary>
    /// Binds <paramref name="element"/> to <typeparamref name="T"/>. Returns false only when nothing could
    /// be bound (the root itself has the wrong shape); check <paramref name="errors"/> for the rest.
    /// </summary>
    public bool TryBind<T>(JsonElement element, JsonTypeInfo<T> typeInfo, string path, ValidationErrors errors, out T? value)
    {
        value = default;
        var buffer = new ArrayBufferWriter<byte>(256);
        bool written;
        using (var writer = new Utf8JsonWriter(buffer))
        {
            written = TryWrite(writer, element, typeInfo, path, errors);
        }

        if (!written)
        {
            return false;
        }

        try
        {
            value = JsonSerializer.Deserialize(buffer.WrittenSpan, typeInfo);
            return value is not null;
        }
        catch (JsonException ex)
        {
            // The walk accepts only shapes the serializer binds; this is a backstop, not a path we expect.
            errors.ReportInvalid(Join(path, ex.Path), ex.Message);
            return false;
        }
    }

    private bool TryWrite(Utf8JsonWriter writer, JsonElement element, JsonTypeInfo typeInfo, string path, ValidationErrors errors)
    {
        var type = Nullable.GetUnderlyingType(typeInfo.Type) ?? typeInfo.Type;
        if (type == typeof(JsonElement))
        {
            element.WriteTo(writer);
            return true;
        }

        if (_leaves.TryGetValue(type, out var leaf))
        {
            if (!leaf(element, path, errors))
            {
                return false;
            }

            element.WriteTo(writer);
            return true;
        }

        if (TryCheckPrimitive(type, element, out var expected))
        {
            if (expected is not null)
            {
                errors.ReportInvalid(path, $"expected {expected}, got {Describe(element)}");
                return false;
            }

            element.WriteTo(writer);
            return true;
        }

        return typeInfo.Kind switch
        {
            JsonTypeInfoKind.Object => TryWriteObject(writer, element, typeInfo, path, errors),
            JsonTypeInfoKind.Enumerable => TryWriteList(writer, element, typeInfo, path, errors),
            JsonTypeInfoKind.Dictionary => TryWriteMap(writer, element, typeInfo, path, errors),
            _ => WriteTrusted(writer, element),
        };
    }

    private bool TryWriteObject(Utf8JsonWriter writer, JsonElement element, JsonTypeInfo typeInfo, string path, ValidationErrors errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.ReportInvalid(path, $"expected a map, got {Describe(element)}");
            return false;
        }

        writer.WriteStartObject();
        foreach (var property in element.EnumerateObject())
        {
            var fieldPath = FieldPath.Field(path, property.Name);
            var info = FindProperty(typeInfo, property.Name);
            if (info is null)
            {
                errors.ReportInvalid(fieldPath, UnknownField(property.Name, typeInfo));
                continue;
            }

            // YAML "field:" with no value is null; Go leaves the field at its zero value, so do we.
            if (property.Value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            var child = new ArrayBufferWriter<byte>(64);
            bool valid;
            using (var childWriter = new Utf8JsonWriter(child))
            {
                valid = TryWrite(childWriter, property.Value, typeInfo.Options.GetTypeInfo(info.PropertyType), fieldPath, errors);
            }

            if (valid)
            {
                writer.WritePropertyName(property.Name);
                writer.WriteRawValue(child.WrittenSpan, skipInputValidation: true);
            }
        }

        writer.WriteEndObject();
        return true;
    }

    private bool TryWriteList(Utf8JsonWriter writer, JsonElement element, JsonTypeInfo typeInfo, string path, ValidationErrors errors)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            errors.ReportInvalid(path, $"expected a list, got {Describe(element)}");
            return false;
        }

        var itemInfo = typeInfo.Options.GetTypeInfo(typeInfo.ElementType!);
        writer.WriteStartArray();
        var index = 0;
        foreach (var item in element.EnumerateArray())
        {
            var child = new ArrayBufferWriter<byte>(64);
            bool valid;
            using (var childWriter = new Utf8JsonWriter(child))
            {
                valid = TryWrite(childWriter, item, itemInfo, FieldPath.Index(path, index), errors);
            }

            // Keep a placeholder so later paths (plugins[3]) still point at the right entry.
            if (valid)
            {
                writer.WriteRawValue(child.WrittenSpan, skipInputValidation: true);
            }
            else if (itemInfo.Kind == JsonTypeInfoKind.Object)
            {
                writer.WriteStartObject();
                writer.WriteEndObject();
            }
            else
            {
                writer.WriteNullValue();
            }

            index++;
        }

        writer.WriteEndArray();
        return true;
    }

    private bool TryWriteMap(Utf8JsonWriter writer, JsonElement element, JsonTypeInfo typeInfo, string path, ValidationErrors errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.ReportInvalid(path, $"expected a map, got {Describe(element)}");
            return false;
        }

        var valueInfo = typeInfo.Options.GetTypeInfo(typeInfo.ElementType!);
        writer.WriteStartObject();
        foreach (var property in element.EnumerateObject())
        {
            var child = new ArrayBufferWriter<byte>(64);
            bool valid;
            using (var childWriter = new Utf8JsonWriter(child))
            {
                valid = TryWrite(childWriter, property.Value, valueInfo, FieldPath.Field(path, property.Name), errors);
            }

            if (valid)
            {
                writer.WritePropertyName(property.Name);
                writer.WriteRawValue(child.WrittenSpan, skipInputValidation: true);
            }
        }

        writer.WriteEndObject();
        return true;
    }

    private static bool Check(bool valid, string error, string path, ValidationErrors errors)
    {
        if (!valid)
        {
            errors.ReportInvalid(path, error);
        }

        return valid;
    }

    private static bool WriteTrusted(Utf8JsonWriter writer, JsonElement element)
    {
        element.WriteTo(writer);
        return true;
    }

    /// <summary>True when <paramref name="type"/> is a primitive we check; <paramref name="expected"/> is null when the value fits.</summary>
    private static bool TryCheckPrimitive(Type type, JsonElement element, out string? expected)
    {
        expected = null;
        if (type == typeof(string))
        {
            expected = element.ValueKind == JsonValueKind.String ? null : "a string";
        }
        else if (type == typeof(bool))
        {
            expected = element.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : "true or false";
        }
        else if (type == typeof(int))
        {
            expected = element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out _) ? null : "a whole number";
        }
        else if (type == typeof(long))
        {
            expected = element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out _) ? null : "a whole number";
        }
        else if (type == typeof(double))
        {
            expected = element.ValueKind == JsonValueKind.Number ? null : "a number";
        }
        else
        {
            return false;
        }

        return true;
    }

    private static JsonPropertyInfo? FindProperty(JsonTypeInfo typeInfo, string name)
    {
        foreach (var property in typeInfo.Properties)
        {
            if (IsBindable(property) && string.Equals(property.Name, name, StringComparison.Ordinal))
            {
                return property;
            }
        }

        return null;
    }

    /// <summary>Fields a file may set: settable or bound through the constructor. Computed and ignored properties are not input.</summary>
    private static bool IsBindable(JsonPropertyInfo property) => property.Set is not null || property.AssociatedParameter is not null;

    /// <summary>The field names a type accepts, in declaration order (for messages and listings).</summary>
    public static IReadOnlyList<string> FieldNames(JsonTypeInfo typeInfo) => typeInfo.Properties.Where(IsBindable).Select(p => p.Name).ToArray();

    private static string UnknownField(string name, JsonTypeInfo typeInfo)
    {
        var known = FieldNames(typeInfo);
        if (known.Count == 0)
        {
            return $"unknown field \"{name}\" (this takes no fields)";
        }

        return $"unknown field \"{name}\"{NameSuggestions.Hint(name, known)} (known fields: {string.Join(", ", known)})";
    }

    private static string Describe(JsonElement element) =>
        element.ValueKind == JsonValueKind.String ? $"\"{element.GetString()}\"" :
        element.ValueKind == JsonValueKind.Number ? element.GetRawText() :
        JsonKinds.Describe(element.ValueKind);

    private static string Join(string path, string? jsonPath)
    {
        var relative = (jsonPath ?? "$").TrimStart('$').TrimStart('.');
        return relative.Length == 0 ? path : path.Length == 0 ? relative : relative[0] == '[' ? path + relative : $"{path}.{relative}";
    }
}
