using System.Text.Json;
using Runtime.Bbr.Mappings;
using Runtime.Bbr.Processors;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Registry;
using Runtime.Plugins.Validation;

namespace Runtime.Bbr;

/// <summary>Factories of the body-based routing plugin types, and the Go router's default chain.</summary>
internal static class BbrPlugins
{
    public static PluginRegistryBuilder AddFactories(this PluginRegistryBuilder builder) => builder
        .UseFactory(BuiltInPlugins.BodyFieldToHeader, CreateBodyFieldToHeader)
        .UseFactory(BuiltInPlugins.BaseModelToHeader, CreateBaseModelToHeader);

    /// <summary>What the Go body-based router runs without configuration: model → header, then base model → header.</summary>
    public static IReadOnlyList<IBbrRequestProcessor> DefaultChain(BbrMetrics metrics, BaseModelMappingSource mappings) =>
    [
        new BodyFieldToHeaderProcessor(BuiltInPlugins.BodyFieldToHeader, metrics: metrics),
        new BaseModelToHeaderProcessor(BuiltInPlugins.BaseModelToHeader, mappings),
    ];

    private static PluginResult CreateBodyFieldToHeader(string name, JsonElement parameters, IPluginHandle handle)
    {
        string field = BodyFieldToHeaderProcessor.DefaultField, header = BodyFieldToHeaderProcessor.DefaultHeader;
        if (parameters.ValueKind != JsonValueKind.Undefined)
        {
            var errors = new ValidationErrors();
            if (!BuiltInParameterBinders.BodyFieldToHeader.TryBind(parameters, "parameters", errors, out var bound) || bound is null)
            {
                return PluginResult.Failure(string.Join("; ", errors.Errors.Select(e => $"{e.Path}: {e.Message}")));
            }

            field = bound.FieldName ?? field;
            header = bound.HeaderName ?? header;
        }

        return PluginResult.Success(new BodyFieldToHeaderProcessor(name, field, header, handle.GetService<BbrMetrics>()));
    }

    private static PluginResult CreateBaseModelToHeader(string name, JsonElement parameters, IPluginHandle handle) =>
        handle.GetService<BaseModelMappingSource>() is { } mappings
            ? PluginResult.Success(new BaseModelToHeaderProcessor(name, mappings))
            : PluginResult.Failure("base-model-to-header needs the base-model mappings service (the body-based router provides it)");
}
