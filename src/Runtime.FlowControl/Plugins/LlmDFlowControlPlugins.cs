using System.Text.Json;
using Runtime.FlowControl.Policies;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Registry;
using Runtime.Plugins.Validation;

namespace Runtime.FlowControl.Plugins;

/// <summary>Factories of llm-d v0.10's flow-control policies: <c>program-aware-fairness</c>, <c>soft-reflective-ceiling-policy</c>.</summary>
internal static class LlmDFlowControlPlugins
{
    public static PluginRegistryBuilder UseLlmDFlowControlFactories(this PluginRegistryBuilder builder) => builder
        .UseFactory(BuiltInPlugins.ProgramAwareFairness, CreateProgramAware)
        .UseFactory(BuiltInPlugins.SoftReflectiveCeilingPolicy, static (name, _, _) =>
            PluginResult.Success(new FlowControlPolicyPlugin(BuiltInPlugins.SoftReflectiveCeilingPolicy, name, new SoftReflectiveCeilingPolicy())));

    private static PluginResult CreateProgramAware(string name, JsonElement parameters, IPluginHandle handle)
    {
        var bound = new ProgramAwareFairnessParameters();
        if (parameters.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null))
        {
            var errors = new ValidationErrors();
            if (!AdmissionParameterBinders.ProgramAwareFairness.TryBind(parameters, "parameters", errors, out var value) || value is null)
            {
                return PluginResult.Failure(string.Join("; ", errors.Errors.Select(e => $"{e.Path}: {e.Message}")));
            }

            bound = value;
        }

        var policy = new ProgramAwareFairnessPolicy(new ProgramAwareFairnessOptions
        {
            WeightService = bound.LasWeightService,
            WeightHeadWait = bound.LasWeightHeadWait,
            DecayFactor = bound.LasDecayFactor,
            HalfLifeSeconds = bound.LasHalfLifeSeconds,
            EvictionTtlSeconds = bound.EvictionTtlSeconds,
            EvictionSweepSeconds = bound.EvictionSweepSeconds,
        });
        return PluginResult.Success(new FlowControlPolicyPlugin(BuiltInPlugins.ProgramAwareFairness, name, policy));
    }
}
