using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Runtime.Configuration.Loading;
using Runtime.Host.Config;
using Runtime.Host.Serve;
using Runtime.Plugins.Registry;
using Xunit;

namespace Runtime.Host.Tests.Serve;

/// <summary>
/// <c>--watch-config-file</c> in process: the endpoint picker built as <c>runtime serve</c> builds it,
/// then its file edited. Unchanged plugins keep their instance (and the state in it), a changed
/// parameter builds a new one, an invalid edit changes nothing, and a request that began before a
/// reload keeps the context it started with.
/// </summary>
public sealed class ConfigReloaderTests : IAsyncDisposable
{
    private static readonly PluginRegistry s_registry = HostPlugins.Build().Registry;
    private readonly string _dir = Directory.CreateTempSubdirectory("runtime-reloader-").FullName;
    private EndpointPickerHost? _host;

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        Directory.Delete(_dir, recursive: true);
    }

    private static string Config(int prefixWeight, int blockSizeTokens = 16, string picker = "max-score-picker") => $"""
        apiVersion: inference.networking.x-k8s.io/v1alpha1
        kind: EndpointPickerConfig
        plugins:
        - type: prefix-cache-scorer
          parameters:
            blockSizeTokens: {blockSizeTokens}
        - type: queue-scorer
        - type: {picker}
        schedulingProfiles:
        - name: default
          plugins:
          - pluginRef: prefix-cache-scorer
            weight: {prefixWeight}
          - pluginRef: queue-scorer
          - pluginRef: {picker}
        """;

    [Fact]
    public async Task WeightChange_KeepsThePrefixScorerInstance_ParameterChange_BuildsANewOne()
    {
        var path = Path.Combine(_dir, "config.yaml");
        var host = Start(path, Config(prefixWeight: 2));
        var reloader = host.Reloader!;
        var prefix = reloader.Plugins["prefix-cache-scorer"];
        var before = host.Processor.Context;

        await ReplaceAsync(path, Config(prefixWeight: 5));
        await WaitForAsync(() => reloader.Generation == 2);

        Assert.Same(prefix, reloader.Plugins["prefix-cache-scorer"]);
        Assert.NotSame(before, host.Processor.Context);
        Assert.NotSame(before.Scheduler, host.Processor.Context.Scheduler);
        Assert.Same(before.Endpoints, host.Processor.Context.Endpoints);
        Assert.Same(before.Metrics, host.Processor.Context.Metrics);

        await ReplaceAsync(path, Config(prefixWeight: 5, blockSizeTokens: 32));
        await WaitForAsync(() => reloader.Generation == 3);

        Assert.NotSame(prefix, reloader.Plugins["prefix-cache-scorer"]);
    }

    [Fact]
    public async Task InvalidEdit_KeepsTheLastGoodConfig()
    {
        var path = Path.Combine(_dir, "config.yaml");
        var host = Start(path, Config(prefixWeight: 2));
        var reloader = host.Reloader!;
        var context = host.Processor.Context;

        await ReplaceAsync(path, Config(prefixWeight: 2, picker: "no-such-picker"));
        await WaitForAsync(() => reloader.Failures >= 1);

        Assert.Equal(1, reloader.Generation);
        Assert.Same(context, host.Processor.Context);
    }

    [Fact]
    public async Task SameConfigRewritten_IsNotAReload()
    {
        var path = Path.Combine(_dir, "config.yaml");
        var host = Start(path, Config(prefixWeight: 2));
        var context = host.Processor.Context;

        // Same meaning, other layout: a comment and the parameters written inline.
        await ReplaceAsync(path, "# touched\n" + Config(prefixWeight: 2).Replace("  parameters:\n    blockSizeTokens: 16", "  parameters: {blockSizeTokens: 16}", StringComparison.Ordinal));
        await Task.Delay(600);

        Assert.Equal(1, host.Reloader!.Generation);
        Assert.Same(context, host.Processor.Context);
    }

    private static string FlowConfig(int maxConcurrency, string bands) => $"""
        apiVersion: inference.networking.x-k8s.io/v1alpha1
        kind: EndpointPickerConfig
        featureGates: [flowControl]
        plugins:
        - type: queue-scorer
        - type: max-score-picker
        - type: concurrency-detector
          parameters:
            maxConcurrency: {maxConcurrency}
        - type: round-robin-fairness-policy
        schedulingProfiles:
        - name: default
          plugins:
          - pluginRef: queue-scorer
          - pluginRef: max-score-picker
        saturationDetector:
          pluginRef: concurrency-detector
        flowControl:
          priorityBands:
        {bands}
        """;

    [Fact]
    public async Task FlowControlOn_BandsPoliciesAndDetectorChange_AppliedToTheRunningController()
    {
        var path = Path.Combine(_dir, "config.yaml");
        var host = Start(path, FlowConfig(100, "  - priority: 5\n    maxRequests: 3"));
        var controller = host.FlowControl!;
        var detector = host.Processor.Context.Admission.Detector;
        Assert.Equal([5, 0], controller.Priorities);

        await ReplaceAsync(path, FlowConfig(7, "  - priority: 7\n    maxRequests: 2\n    fairnessPolicyRef: round-robin-fairness-policy\n  - priority: 0\n    maxBytes: 1Mi"));
        await WaitForAsync(() => host.Reloader!.Generation == 2);

        // The same controller (its queues) with the new bands and limits; band 5 held nothing, so it is gone.
        Assert.Same(controller, host.Processor.Context.Admission.FlowControl);
        Assert.Equal([7, 0], controller.Priorities);
        Assert.True(controller.Table.TryGet(7, out var band7));
        Assert.Equal((2L, "round-robin-fairness-policy"), (band7.Options.MaxRequests, band7.Options.FairnessPolicy.TypeName));
        Assert.True(controller.Table.TryGet(0, out var band0));
        Assert.Equal(1L << 20, band0.Options.MaxBytes);

        // The new detector gates dispatch and admission alike.
        Assert.NotSame(detector, host.Processor.Context.Admission.Detector);
        Assert.Same(host.Processor.Context.Admission.Detector, controller.Detector);
        Assert.Equal(0, host.Reloader!.Failures);
    }

    [Fact]
    public async Task FlowControlOn_InvalidFlowControlEdit_ChangesNothing()
    {
        var path = Path.Combine(_dir, "config.yaml");
        var host = Start(path, FlowConfig(100, "  - priority: 5"));
        var controller = host.FlowControl!;
        var options = controller.Options;

        await ReplaceAsync(path, FlowConfig(100, "  - priority: 6\n    orderingPolicyRef: no-such-policy"));
        await WaitForAsync(() => host.Reloader!.Failures == 1);

        Assert.Equal(1, host.Reloader!.Generation);
        Assert.Same(options, controller.Options);
        Assert.Equal([5, 0], controller.Priorities);
    }

    [Fact]
    public void WithoutAFileOrWithTheFlagOff_NoReloader()
    {
        var path = Path.Combine(_dir, "config.yaml");
        File.WriteAllText(path, Config(prefixWeight: 2));

        Assert.Null(Build(new ServeOptions { Endpoints = "10.0.0.1:8000", ConfigFile = path, WatchConfigFile = false }, path).Reloader);
    }

    private EndpointPickerHost Start(string path, string yaml)
    {
        File.WriteAllText(path, yaml);
        var host = Build(new ServeOptions { Endpoints = "10.0.0.1:8000,10.0.0.2:8000", ConfigFile = path }, path);
        _host = host;
        host.Reloader!.Start();
        return host;
    }

    private static EndpointPickerHost Build(ServeOptions options, string path)
    {
        var loaded = new EndpointPickerConfigLoader(s_registry).LoadFromFlags(path, null);
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors.Select(e => e.Format(loaded.Source))));
        var errors = new List<string>();
        var host = EndpointPickerHost.TryCreate(options with { SecureServing = false }, s_registry, loaded, null, NullLoggerFactory.Instance, errors);
        Assert.True(host is not null, string.Join("\n", errors));
        return host;
    }

    private static async Task ReplaceAsync(string path, string yaml)
    {
        await File.WriteAllTextAsync(path + ".tmp", yaml);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "not within 10 s");
            await Task.Delay(20);
        }
    }
}
