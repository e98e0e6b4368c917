using Microsoft.Extensions.Time.Testing;
using Runtime.Configuration.Loading;
using Runtime.Endpoints;
using Runtime.Plugins;
using Runtime.Plugins.Activation;
using Runtime.Plugins.BuiltIn;
using Runtime.Scheduling.Disaggregation;
using Runtime.Scheduling.Plugins;

namespace Runtime.Scheduling.Tests.Disaggregation;

/// <summary>Loads llm-d-style configs through the real loader, activator and scheduler builder.</summary>
internal sealed class DisaggTestSupport
{
    public const string Header = "apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\n";

    private readonly FakeTimeProvider _time = new();
    private readonly EndpointStore _store = new();

    /// <summary>llm-d's sim-pd-epp-config.yaml, with our own names.</summary>
    public const string PdConfig = """
        plugins:
        - type: approx-prefix-cache-producer
          parameters:
            blockSizeTokens: 16
            autoTune: false
            maxPrefixTokensToMatch: 16384
        - type: prefix-cache-scorer
        - type: queue-scorer
        - type: prefill-filter
        - type: decode-filter
        - type: max-score-picker
        - type: disagg-profile-handler
          parameters:
            deciders:
              prefill: prefix-based-pd-decider
        - type: prefix-based-pd-decider
          parameters:
            nonCachedTokens: 16
        schedulingProfiles:
        - name: prefill
          plugins:
          - pluginRef: prefill-filter
          - pluginRef: max-score-picker
          - pluginRef: prefix-cache-scorer
            weight: 2
          - pluginRef: queue-scorer
        - name: decode
          plugins:
          - pluginRef: decode-filter
          - pluginRef: max-score-picker
          - pluginRef: prefix-cache-scorer
            weight: 2
          - pluginRef: queue-scorer
        """;

    public static Runtime.Plugins.Registry.PluginRegistry Registry { get; } = BuiltInPlugins.CreateBuilder().UseSchedulingFactories().UseDisaggregationFactories().UseLlmDSchedulingFactories().Build().Registry;

    public static ConfigLoadResult Validate(string yaml, bool allowExperimental = false) =>
        new EndpointPickerConfigLoader(Registry) { AllowExperimentalPlugins = allowExperimental }.LoadText(Header + yaml, "test");

    public static string FirstError(string yaml)
    {
        var loaded = Validate(yaml);
        Assert.False(loaded.IsValid, "expected the config to be refused");
        return loaded.Errors[0].Message;
    }

    public (SchedulerBuildResult Built, IReadOnlyDictionary<string, IPlugin> Plugins) Build(string yaml, bool allowExperimental = false)
    {
        var loaded = Validate(yaml, allowExperimental);
        Assert.True(loaded.IsValid, string.Join("; ", loaded.Errors.Select(e => e.Message)));
        var config = loaded.Config!;
        var specs = config.Plugins.Select((p, i) => new PluginInstanceSpec(p.Name!, p.Type!, p.Parameters ?? default, $"plugins[{i}]"));
        var activation = PluginActivator.Activate(Registry, specs, new PluginServices { TimeProvider = _time }.Add(_store));
        Assert.Empty(activation.Errors);
        return (Runtime.Scheduling.Scheduler.Create(config, activation.Plugins), activation.Plugins);
    }

    public IScheduler Scheduler(string yaml)
    {
        var built = Build(yaml).Built;
        Assert.True(built.IsValid, string.Join("; ", built.Errors));
        return built.Scheduler!;
    }

    /// <summary>Endpoints 10.0.0.(i+1):8000 with the given llm-d.ai/role labels (null: no label).</summary>
    public EndpointState[] Pool(params string?[] roles)
    {
        _store.Publish(roles.Select((role, i) => new Endpoint($"pod-{i}", $"10.0.0.{i + 1}", 8000, role is null ? null : new Dictionary<string, string> { ["llm-d.ai/role"] = role })));
        return _store.Current.Endpoints;
    }

    public static SchedulingResult Schedule(IScheduler scheduler, SchedulingRequest request, EndpointState[] pool)
    {
        var result = new SchedulingResult();
        result.Reset();
        scheduler.Schedule(request, pool, result);
        return result;
    }

    public static string? HeaderValue(SchedulingResult result, string name)
    {
        foreach (var header in result.Headers)
        {
            if (System.Text.Encoding.ASCII.GetString(header.Name.Span) == name)
            {
                return header.Remove ? null : System.Text.Encoding.UTF8.GetString(header.Value.Span);
            }
        }

        return null;
    }

    public static bool Removes(SchedulingResult result, string name)
    {
        foreach (var header in result.Headers)
        {
            if (header.Remove && System.Text.Encoding.ASCII.GetString(header.Name.Span) == name)
            {
                return true;
            }
        }

        return false;
    }
}
