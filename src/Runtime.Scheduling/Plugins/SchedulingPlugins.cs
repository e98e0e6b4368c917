using System.Text.Json;
using Runtime.Endpoints;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Parameters;
using Runtime.Plugins.Registry;
using Runtime.Plugins.Validation;
using Runtime.Scheduling.Filters;
using Runtime.Scheduling.Pickers;
using Runtime.Scheduling.Prefix;
using Runtime.Scheduling.Profiles;
using Runtime.Scheduling.Saturation;
using Runtime.Scheduling.Scorers;

namespace Runtime.Scheduling.Plugins;

/// <summary>
/// The factories of the scheduling plugin types declared in <see cref="BuiltInPlugins"/>: scorers,
/// pickers, filters, the single-profile handler, the prefix and in-flight producers and the
/// saturation detectors.
/// </summary>
/// <remarks>The detectors need the host's <see cref="EndpointStore"/> registered in <c>PluginServices</c>.</remarks>
internal static class SchedulingPlugins
{
    public static PluginRegistryBuilder UseSchedulingFactories(this PluginRegistryBuilder builder) => builder
        .UseFactory(BuiltInPlugins.QueueScorer, static (name, _, _) => PluginResult.Success(new QueueScorer(name)))
        .UseFactory(BuiltInPlugins.KvCacheUtilizationScorer, static (name, _, _) => PluginResult.Success(new KvCacheUtilizationScorer(name)))
        .UseFactory(BuiltInPlugins.KvCacheScorer, static (name, _, _) => PluginResult.Success(new KvCacheUtilizationScorer(name, BuiltInPlugins.KvCacheScorer)))
        .UseFactory(BuiltInPlugins.RunningRequestsSizeScorer, static (name, _, _) => PluginResult.Success(new RunningRequestsSizeScorer(name)))
        .UseFactory(BuiltInPlugins.LoraAffinityScorer, static (name, _, _) => PluginResult.Success(new LoraAffinityScorer(name)))
        .UseFactory(BuiltInPlugins.PrefixCacheScorer, static (name, parameters, _) =>
            Bind(BuiltInParameterBinders.PrefixCacheScorer, parameters, out var p, out var error) ? PluginResult.Success(new PrefixCacheScorer(name, p!)) : PluginResult.Failure(error))
        .UseFactory(BuiltInPlugins.MaxScorePicker, static (name, parameters, _) =>
            Bind(BuiltInParameterBinders.Picker, parameters, out var p, out var error) ? PluginResult.Success(new MaxScorePicker(name, p!.MaxNumOfEndpoints)) : PluginResult.Failure(error))
        .UseFactory(BuiltInPlugins.RandomPicker, static (name, parameters, _) =>
            Bind(BuiltInParameterBinders.Picker, parameters, out var p, out var error) ? PluginResult.Success(new RandomPicker(name, p!.MaxNumOfEndpoints)) : PluginResult.Failure(error))
        .UseFactory(BuiltInPlugins.WeightedRandomPicker, static (name, parameters, _) =>
            Bind(BuiltInParameterBinders.Picker, parameters, out var p, out var error) ? PluginResult.Success(new WeightedRandomPicker(name, p!.MaxNumOfEndpoints)) : PluginResult.Failure(error))
        .UseFactory(BuiltInPlugins.ApproxPrefixCacheProducer, static (name, parameters, _) =>
            Bind(BuiltInParameterBinders.PrefixCacheScorer, parameters, out var p, out var error) ? PluginResult.Success(new ApproxPrefixCacheProducer(name, p!)) : PluginResult.Failure(error))
        .UseFactory(BuiltInPlugins.TokenLoadScorer, static (name, parameters, _) =>
            Bind(BuiltInParameterBinders.TokenLoadScorer, parameters, out var p, out var error) ? PluginResult.Success(new TokenLoadScorer(name, p!.EffectiveQueueThresholdTokens)) : PluginResult.Failure(error))
        .UseFactory(BuiltInPlugins.InflightLoadProducer, static (name, _, _) => PluginResult.Success(new InflightLoadProducer(name)))
        .UseFactory(BuiltInPlugins.UtilizationFilter, static (name, parameters, _) =>
            Bind(BuiltInParameterBinders.UtilizationFilter, parameters, out var p, out var error) ? PluginResult.Success(new UtilizationFilter(name, p!)) : PluginResult.Failure(error))
        .UseFactory(BuiltInPlugins.HeaderBasedTestingFilter, static (name, _, _) => PluginResult.Success(new HeaderBasedTestingFilter(name)))
        .UseFactory(BuiltInPlugins.SingleProfileHandler, static (name, _, _) => PluginResult.Success(new SingleProfileHandler(name)))
        .UseFactory(BuiltInPlugins.UtilizationDetector, CreateUtilizationDetector)
        .UseFactory(BuiltInPlugins.ConcurrencyDetector, CreateConcurrencyDetector);

    private static PluginResult CreateUtilizationDetector(string name, JsonElement parameters, IPluginHandle handle)
    {
        if (!Bind(BuiltInParameterBinders.UtilizationDetector, parameters, out var p, out var error))
        {
            return PluginResult.Failure(error);
        }

        return handle.GetService<EndpointStore>() is { } store
            ? PluginResult.Success(new UtilizationDetector(name, p!, store, handle.TimeProvider))
            : PluginResult.Failure(MissingStore);
    }

    private static PluginResult CreateConcurrencyDetector(string name, JsonElement parameters, IPluginHandle handle)
    {
        if (!Bind(BuiltInParameterBinders.ConcurrencyDetector, parameters, out var p, out var error))
        {
            return PluginResult.Failure(error);
        }

        return handle.GetService<EndpointStore>() is { } store
            ? PluginResult.Success(new ConcurrencyDetector(name, p!, store))
            : PluginResult.Failure(MissingStore);
    }

    private const string MissingStore = "the host registered no EndpointStore service (PluginServices.Add(store)); a saturation detector reads the pool from it";

    /// <summary>Binds a factory's parameters; false with the errors joined in one line.</summary>
    internal static bool Bind<T>(PluginParameterBinder<T> binder, JsonElement parameters, out T? value, out string error)
        where T : class
    {
        var errors = new ValidationErrors();
        if (binder.TryBind(parameters, "parameters", errors, out value) && value is not null)
        {
            error = string.Empty;
            return true;
        }

        error = string.Join("; ", errors.Errors.Select(e => $"{e.Path}: {e.Message}"));
        return false;
    }
}
