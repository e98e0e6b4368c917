using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Runtime.Bbr;
using Runtime.Bbr.Mappings;
using Runtime.Configuration.Loading;
using Runtime.Host.Config;
using Runtime.Host.Serve;
using Runtime.Plugins;
using Runtime.Plugins.Activation;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.Registry;
using Xunit;

namespace Runtime.Host.Tests.Serve;

/// <summary>
/// No type `runtime plugins` lists as available may refuse at serve time: each one, with default or
/// minimal parameters and in the role its kind takes, validates and builds the endpoint picker the way
/// <c>runtime serve</c> does. Each type listed as unavailable fails validation with its reason.
/// </summary>
public class EveryListedPluginServesTests
{
    private static readonly PluginRegistry s_registry = HostPlugins.Build().Registry;

    public static TheoryData<string> AvailableEndpointPickerTypes() =>
        [.. s_registry.Registrations.Where(r => r.IsAvailable && (r.Kinds & PluginKinds.BodyBasedRouting) == 0).Select(r => r.TypeName)];

    public static TheoryData<string> UnavailableTypes() =>
        [.. s_registry.Registrations.Where(r => !r.IsAvailable).Select(r => r.TypeName)];

    [Fact]
    public void Listing_EveryTypeNotDeclaredUnavailable_HasAnImplementation() =>
        Assert.All(s_registry.Registrations.Where(r => r.Unavailable is null), r => Assert.NotNull(r.Factory));

    [Theory]
    [MemberData(nameof(AvailableEndpointPickerTypes))]
    public async Task Serve_AvailableType_BuildsTheEndpointPicker(string type)
    {
        var yaml = ConfigUsing(type);
        // Alpha types need --allow-experimental-plugins, as serve is then started.
        var loaded = new EndpointPickerConfigLoader(s_registry) { AllowExperimentalPlugins = true }.LoadText(yaml, "test.yaml");
        Assert.True(loaded.IsValid, $"{type}:\n{yaml}\n" + string.Join("\n", loaded.Errors.Select(e => e.Format(loaded.Source))));

        var errors = new List<string>();
        var options = new ServeOptions { Endpoints = "10.0.0.1:8000,10.0.0.2:8000", SecureServing = false };
        var host = EndpointPickerHost.TryCreate(options, s_registry, loaded, null, NullLoggerFactory.Instance, errors);

        Assert.True(host is not null && errors.Count == 0, $"{type}: " + string.Join("\n", errors));
        await host!.DisposeAsync();
    }

    [Theory]
    [MemberData(nameof(UnavailableTypes))]
    public void Validate_UnavailableType_FailsWithTheReason(string type)
    {
        var loaded = new EndpointPickerConfigLoader(s_registry).LoadText(Header + $"plugins:\n- type: {type}\n", "test.yaml");

        Assert.False(loaded.IsValid);
        Assert.Contains(loaded.Errors, e => e.Message.Contains($"plugin type \"{type}\" is not available in this build: ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(BuiltInPlugins.BodyFieldToHeader, """{"field_name": "model", "header_name": "X-Gateway-Model-Name"}""")]
    [InlineData(BuiltInPlugins.BaseModelToHeader, null)]
    public void BodyBasedRouter_AvailableType_Activates(string type, string? parameters)
    {
        using var metrics = new BbrMetrics();
        using var mappings = new BaseModelMappingSource(BaseModelMappings.Empty);
        var services = new PluginServices { LoggerFactory = NullLoggerFactory.Instance }.Add(metrics).Add(mappings);
        var element = parameters is null ? default : JsonDocument.Parse(parameters).RootElement;

        var activation = PluginActivator.Activate(s_registry, [new PluginInstanceSpec(type, type, element, "--plugin[0]")], services);

        Assert.True(activation.IsComplete, string.Join("\n", activation.Errors.Concat(activation.NotImplemented)));
    }

    [Fact]
    public void BodyBasedRouter_EveryAvailableBbrType_Covered()
    {
        var bbr = s_registry.Registrations.Where(r => r.IsAvailable && (r.Kinds & PluginKinds.BodyBasedRouting) != 0).Select(r => r.TypeName);
        Assert.Equal([BuiltInPlugins.BodyFieldToHeader, BuiltInPlugins.BaseModelToHeader], bbr);
    }

    private const string Header = "apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n";

    /// <summary>A configuration that uses <paramref name="type"/> in the role its kind takes, with minimal parameters.</summary>
    private static string ConfigUsing(string type)
    {
        Assert.True(s_registry.TryGet(type, out var registration));
        var kinds = registration.Kinds;
        var parameters = type switch
        {
            BuiltInPlugins.K8sNotificationSource => "\n  parameters: {version: v1, kind: Pod}",
            BuiltInPlugins.RequestAttributeReporter => "\n  parameters: {attributes: [{key: {name: x-cost}, expression: usage.prompt_tokens}]}",
            BuiltInPlugins.UtilizationFilter => "\n  parameters: {conditions: [{metric: waiting-queue, maxValue: 10}]}",
            "disagg-profile-handler" => "\n  parameters: {profiles: {decode: default}}",
            "pd-profile-handler" => "\n  parameters: {decodeProfile: default}\n- type: prefix-based-pd-decider",
            "by-label" => "\n  parameters: {label: llm-d.ai/role, validValues: [decode]}",
            BuiltInPlugins.EndpointAttributeFilter => "\n  parameters: {attribute: GPUUtilization/dcgm-extractor, algorithm: {type: threshold, threshold: {operator: LessThan, value: 0.9}}}",
            BuiltInPlugins.EndpointAttributeScorer => "\n  parameters: {attributeKey: GPUUtilization/dcgm-extractor, algorithm: {type: linear_lower_is_better}}",
            _ => string.Empty,
        };
        var plugin = $"- name: under-test\n  type: {type}{parameters}\n";

        if ((kinds & PluginKinds.SchedulingProfilePlugins) != 0)
        {
            var detector = (kinds & PluginKinds.SaturationDetector) != 0 ? "saturationDetector: {pluginRef: under-test}\n" : string.Empty;
            return Header + "plugins:\n" + plugin + "schedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: under-test\n" + detector;
        }

        var section = kinds switch
        {
            _ when (kinds & PluginKinds.ProfileHandler) != 0 => "- type: queue-scorer\nschedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: queue-scorer\n",
            _ when (kinds & PluginKinds.Parser) != 0 => "parser: {pluginRef: under-test}\n",
            _ when (kinds & PluginKinds.DataSource) != 0 => "dataLayer:\n  sources:\n  - pluginRef: under-test\n",
            _ when (kinds & PluginKinds.DataExtractor) != 0 => "- type: metrics-data-source\ndataLayer:\n  sources:\n  - pluginRef: metrics-data-source\n    extractors:\n    - pluginRef: under-test\n",
            _ when (kinds & PluginKinds.OrderingPolicy) != 0 => "featureGates: [flowControl]\nflowControl:\n  priorityBands:\n  - priority: 0\n    orderingPolicyRef: under-test\n",
            _ when (kinds & PluginKinds.FairnessPolicy) != 0 => "featureGates: [flowControl]\nflowControl:\n  priorityBands:\n  - priority: 0\n    fairnessPolicyRef: under-test\n",
            _ when (kinds & PluginKinds.UsageLimitPolicy) != 0 => "featureGates: [flowControl]\nflowControl:\n  usageLimitPolicyPluginRef: under-test\n",
            _ => string.Empty,
        };

        // A section starting with "- " adds plugins to the list; the others follow it at column 0.
        return Header + "plugins:\n" + plugin + section;
    }
}
