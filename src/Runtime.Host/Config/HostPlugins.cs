using Runtime.Bbr;
using Runtime.EndpointPicker.Plugins;
using Runtime.FlowControl.Plugins;
using Runtime.ModelMetrics.Dcgm;
using Runtime.ModelMetrics.Plugins;
using Runtime.Scheduling.Disaggregation;
using Runtime.Scheduling.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.Registry;

namespace Runtime.Host.Config;

/// <summary>
/// The plugin registry this binary serves with: the built-in catalog plus the factories of the
/// capabilities compiled in. Capabilities add their factories here as they land
/// (<c>builder.UseFactory(type, factory)</c>); until then their types validate but cannot run.
/// </summary>
internal static class HostPlugins
{
    public static PluginRegistryBuildResult Build() => BuiltInPlugins.CreateBuilder()
        .AddFactories()
        .UseFlowControlFactories()
        .UseSchedulingFactories()
        .UseDisaggregationFactories()
        .UseLlmDSchedulingFactories()
        .UseModelMetricsFactories()
        .UseDcgmFactories()
        .UseEndpointPickerFactories()
        .UseLlmDFlowControlFactories()
        .UseAdmissionFactories()
        .Build();
}
