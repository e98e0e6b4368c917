using System.Text.Json;
using Runtime.FlowControl.Policies;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Registry;
using Runtime.Plugins.Validation;

namespace Runtime.FlowControl.Plugins;

/// <summary>A configured flow-control policy: the plugin instance other config entries refer to by name.</summary>
internal sealed record FlowControlPolicyPlugin(string TypeName, string Name, object Policy) : IPlugin;

/// <summary>The factories of the flow-control policy plugin types declared in <see cref="BuiltInPlugins"/>.</summary>
internal static class FlowControlPlugins
{
    public static PluginRegistryBuilder UseFlowControlFactories(this PluginRegistryBuilder builder) => builder
        .UseFactory(FlowControlPolicyTypes.FcfsOrdering, (name, _, _) => Policy(FlowControlPolicyTypes.FcfsOrdering, name, FcfsOrderingPolicy.Instance))
        .UseFactory(FlowControlPolicyTypes.EdfOrdering, (name, _, _) => Policy(FlowControlPolicyTypes.EdfOrdering, name, EdfOrderingPolicy.Instance))
        .UseFactory(FlowControlPolicyTypes.SloDeadlineOrdering, (name, _, _) => Policy(FlowControlPolicyTypes.SloDeadlineOrdering, name, SloDeadlineOrderingPolicy.Instance))
        .UseFactory(FlowControlPolicyTypes.GlobalStrictFairness, (name, _, _) => Policy(FlowControlPolicyTypes.GlobalStrictFairness, name, GlobalStrictFairnessPolicy.Instance))
        .UseFactory(FlowControlPolicyTypes.RoundRobinFairness, (name, _, _) => Policy(FlowControlPolicyTypes.RoundRobinFairness, name, RoundRobinFairnessPolicy.Instance))
        .UseFactory(FlowControlPolicyTypes.StaticUsageLimit, CreateStaticUsageLimit);

    /// <summary>The built-in policy of <paramref name="typeName"/> with default parameters, or null.</summary>
    public static object? DefaultPolicy(string typeName) => typeName switch
    {
        FlowControlPolicyTypes.FcfsOrdering => FcfsOrderingPolicy.Instance,
        FlowControlPolicyTypes.EdfOrdering => EdfOrderingPolicy.Instance,
        FlowControlPolicyTypes.SloDeadlineOrdering => SloDeadlineOrderingPolicy.Instance,
        FlowControlPolicyTypes.GlobalStrictFairness => GlobalStrictFairnessPolicy.Instance,
        FlowControlPolicyTypes.RoundRobinFairness => RoundRobinFairnessPolicy.Instance,
        FlowControlPolicyTypes.StaticUsageLimit => StaticUsageLimitPolicy.Default,
        _ => null,
    };

    private static PluginResult CreateStaticUsageLimit(string name, JsonElement parameters, IPluginHandle handle)
    {
        var errors = new ValidationErrors();
        double threshold = StaticUsageLimitPolicyParameters.DefaultThreshold;
        if (parameters.ValueKind != JsonValueKind.Undefined)
        {
            if (!BuiltInParameterBinders.StaticUsageLimitPolicy.TryBind(parameters, "parameters", errors, out StaticUsageLimitPolicyParameters? bound) || bound is null)
            {
                return PluginResult.Failure(string.Join("; ", errors.Errors.Select(e => $"{e.Path}: {e.Message}")));
            }

            threshold = bound.Threshold;
        }

        return Policy(FlowControlPolicyTypes.StaticUsageLimit, name, new StaticUsageLimitPolicy(threshold));
    }

    private static PluginResult Policy(string type, string name, object policy) =>
        PluginResult.Success(new FlowControlPolicyPlugin(type, name, policy));
}
