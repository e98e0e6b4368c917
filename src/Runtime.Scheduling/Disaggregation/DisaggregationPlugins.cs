using System.Text.Json;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Parameters;
using Runtime.Plugins.Registry;
using Runtime.Plugins.Validation;
using Runtime.Scheduling.Plugins;

namespace Runtime.Scheduling.Disaggregation;

/// <summary>The factories of the types in <see cref="DisaggregationCatalog"/>.</summary>
internal static class DisaggregationPlugins
{
    public static PluginRegistryBuilder UseDisaggregationFactories(this PluginRegistryBuilder builder) => builder
        .UseFactory(DisaggregationCatalog.DecodeFilter, static (name, _, _) => PluginResult.Success(LabelValueFilter.Decode(name)))
        .UseFactory(DisaggregationCatalog.PrefillFilter, static (name, _, _) => PluginResult.Success(LabelValueFilter.Prefill(name)))
        .UseFactory(DisaggregationCatalog.EncodeFilter, static (name, _, _) => PluginResult.Success(LabelValueFilter.Encode(name)))
        .UseFactory(DisaggregationCatalog.ByLabel, static (name, parameters, _) =>
            SchedulingPlugins.Bind(DisaggregationBinders.ByLabel, parameters, out var p, out var error) ? PluginResult.Success(LabelValueFilter.ByLabel(name, p!)) : PluginResult.Failure(error))
        .UseFactory(DisaggregationCatalog.LabelSelectorFilter, static (name, parameters, _) => LabelSelector(name, DisaggregationCatalog.LabelSelectorFilter, parameters))
        .UseFactory(DisaggregationCatalog.ByLabelSelector, static (name, parameters, _) => LabelSelector(name, DisaggregationCatalog.ByLabelSelector, parameters))
        .UseFactory(DisaggregationCatalog.AlwaysDisaggPdDecider, static (name, _, _) => PluginResult.Success(new AlwaysDisaggPdDecider(name)))
        .UseFactory(DisaggregationCatalog.PrefixBasedPdDecider, static (name, parameters, _) =>
            SchedulingPlugins.Bind(DisaggregationBinders.PrefixBasedPdDecider, parameters, out var p, out var error) ? PluginResult.Success(new PrefixBasedPdDecider(name, p!)) : PluginResult.Failure(error))
        .UseFactory(DisaggregationCatalog.DisaggProfileHandler, static (name, parameters, _) => Handler(name, DisaggregationCatalog.DisaggProfileHandler, DisaggregationBinders.DisaggProfileHandler, parameters))
        .UseFactory(DisaggregationCatalog.PdProfileHandler, static (name, parameters, _) => Handler(name, DisaggregationCatalog.PdProfileHandler, DisaggregationBinders.PdProfileHandler, parameters))
        .UseFactory(DisaggregationCatalog.DisaggHeadersHandler, static (name, parameters, _) => HeadersHandler(name, DisaggregationCatalog.DisaggHeadersHandler, parameters))
        .UseFactory(DisaggregationCatalog.PrefillHeaderHandler, static (name, parameters, _) => HeadersHandler(name, DisaggregationCatalog.PrefillHeaderHandler, parameters))
        .UseFactory(DisaggregationCatalog.DataParallelProfileHandler, static (name, parameters, _) =>
            SchedulingPlugins.Bind(DisaggregationBinders.DataParallelProfileHandler, parameters, out var p, out var error) ? PluginResult.Success(new DataParallelProfileHandler(name, p!.PrimaryPort)) : PluginResult.Failure(error));

    private static PluginResult LabelSelector(string name, string typeName, JsonElement parameters) =>
        SchedulingPlugins.Bind(DisaggregationBinders.LabelSelector, parameters, out var p, out var error) ? PluginResult.Success(new LabelSelectorFilter(name, typeName, p!)) : PluginResult.Failure(error);

    private static PluginResult HeadersHandler(string name, string typeName, JsonElement parameters) =>
        SchedulingPlugins.Bind(DisaggregationBinders.DisaggHeadersHandler, parameters, out var p, out var error) ? PluginResult.Success(new DisaggHeadersHandler(name, typeName, p!.PrefillProfile)) : PluginResult.Failure(error);

    private static PluginResult Handler(string name, string typeName, DisaggProfileHandlerBinder binder, JsonElement parameters)
    {
        var errors = new ValidationErrors();
        return binder.TryBind(parameters, "parameters", errors, out var settings)
            ? PluginResult.Success(new DisaggProfileHandler(name, typeName, settings))
            : PluginResult.Failure(Describe(errors));
    }

    private static string Describe(ValidationErrors errors) => string.Join("; ", errors.Errors.Select(e => e.ToString()));
}
