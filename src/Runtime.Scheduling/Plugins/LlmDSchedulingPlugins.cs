using System.Text.Json;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Parameters;
using Runtime.Plugins.Registry;
using Runtime.Plugins.Validation;
using Runtime.Scheduling.LlmD;

namespace Runtime.Scheduling.Plugins;

/// <summary>The factories of llm-d v0.10's scorers, filters and header profile handler declared in <c>BuiltInPlugins.LlmD.cs</c>.</summary>
internal static class LlmDSchedulingPlugins
{
    public static PluginRegistryBuilder UseLlmDSchedulingFactories(this PluginRegistryBuilder builder) => builder
        .UseFactory(BuiltInPlugins.ActiveRequestScorer, static (name, parameters, _) =>
            SchedulingPlugins.Bind(BuiltInParameterBinders.ActiveRequestScorer, parameters, out var p, out var error) ? PluginResult.Success(new ActiveRequestScorer(name, p!)) : PluginResult.Failure(error))
        .UseFactory(BuiltInPlugins.LoadAwareScorer, static (name, parameters, _) =>
            SchedulingPlugins.Bind(BuiltInParameterBinders.LoadAwareScorer, parameters, out var p, out var error) ? PluginResult.Success(new LoadAwareScorer(name, p!.EffectiveThreshold)) : PluginResult.Failure(error))
        .UseFactory(BuiltInPlugins.NoHitLruScorer, static (name, parameters, _) =>
            SchedulingPlugins.Bind(BuiltInParameterBinders.NoHitLruScorer, parameters, out var p, out var error) ? PluginResult.Success(new NoHitLruScorer(name, p!)) : PluginResult.Failure(error))
        .UseFactory(BuiltInPlugins.SessionAffinityScorer, static (name, parameters, handle) =>
            SchedulingPlugins.Bind(BuiltInParameterBinders.SessionAffinity, parameters, out var p, out var error) ? PluginResult.Success(new SessionAffinityScorer(name, p!, handle.TimeProvider)) : PluginResult.Failure(error))
        .UseFactory(BuiltInPlugins.SessionAffinityFilter, static (name, parameters, handle) =>
            SchedulingPlugins.Bind(BuiltInParameterBinders.SessionAffinity, parameters, out var p, out var error) ? PluginResult.Success(new SessionAffinityFilter(name, p!, handle.TimeProvider)) : PluginResult.Failure(error))
        .UseFactory(BuiltInPlugins.ContextLengthAware, static (name, parameters, _) =>
            SchedulingPlugins.Bind(BuiltInParameterBinders.ContextLengthAware, parameters, out var p, out var error) ? PluginResult.Success(new ContextLengthAware(name, p!)) : PluginResult.Failure(error))
        .UseFactory(BuiltInPlugins.HeaderProfileHandler, static (name, parameters, _) =>
            SchedulingPlugins.Bind(BuiltInParameterBinders.HeaderProfileHandler, parameters, out var p, out var error) ? PluginResult.Success(new HeaderProfileHandler(name, p!)) : PluginResult.Failure(error))
        .UseFactory(BuiltInPlugins.EndpointAttributeFilter, static (name, parameters, _) =>
            SchedulingPlugins.Bind(BuiltInParameterBinders.EndpointAttributeFilter, parameters, out var p, out var error) ? PluginResult.Success(new EndpointAttributeFilter(name, p!)) : PluginResult.Failure(error))
        .UseFactory(BuiltInPlugins.EndpointAttributeScorer, static (name, parameters, _) =>
            SchedulingPlugins.Bind(BuiltInParameterBinders.EndpointAttributeScorer, parameters, out var p, out var error) ? PluginResult.Success(new EndpointAttributeScorer(name, p!)) : PluginResult.Failure(error));
}
