using System.Text.Json;
using Runtime.EndpointPicker.Admission;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Registry;
using Runtime.Plugins.Validation;

namespace Runtime.EndpointPicker.Plugins;

/// <summary>Factories of llm-d v0.10's request-admission plugins: <c>probabilistic-admitter</c>, <c>agent-identity</c>.</summary>
internal static class AdmissionPlugins
{
    public static PluginRegistryBuilder UseAdmissionFactories(this PluginRegistryBuilder builder) => builder
        .UseFactory(BuiltInPlugins.ProbabilisticAdmitter, static (name, parameters, _) =>
            Bind(AdmissionParameterBinders.ProbabilisticAdmitter, parameters, new ProbabilisticAdmitterParameters(), out var bound, out var error)
                ? PluginResult.Success(new ProbabilisticAdmitter(name, bound))
                : PluginResult.Failure(error))
        .UseFactory(BuiltInPlugins.AgentIdentity, static (name, parameters, _) =>
            Bind(AdmissionParameterBinders.AgentIdentity, parameters, new AgentIdentityParameters(), out var bound, out var error)
                ? PluginResult.Success(new AgentIdentity(name, bound.SessionHeaders()))
                : PluginResult.Failure(error));

    private static bool Bind<T>(Runtime.Plugins.Parameters.PluginParameterBinder<T> binder, JsonElement parameters, T defaults, out T bound, out string error)
        where T : class
    {
        bound = defaults;
        error = string.Empty;
        if (parameters.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return true;
        }

        var errors = new ValidationErrors();
        if (!binder.TryBind(parameters, "parameters", errors, out var value) || value is null)
        {
            error = string.Join("; ", errors.Errors.Select(e => $"{e.Path}: {e.Message}"));
            return false;
        }

        bound = value;
        return true;
    }
}
