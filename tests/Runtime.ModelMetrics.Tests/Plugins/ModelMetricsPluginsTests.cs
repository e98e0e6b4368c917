using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Runtime.Endpoints;
using Runtime.ModelMetrics.Plugins;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.Registry;

namespace Runtime.ModelMetrics.Tests.Plugins;

public class ModelMetricsPluginsTests
{
    private static PluginFactory Factory(string type)
    {
        var result = BuiltInPlugins.CreateBuilder().UseModelMetricsFactories().Build();
        Assert.True(result.Registry.TryGet(type, out var registration));
        return registration!.Factory!;
    }

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement;

    [Fact]
    public void MetricsDataSource_Parameters_AreCarried()
    {
        var result = Factory(BuiltInPlugins.MetricsDataSource)("src", Json("""{"scheme":"https","path":"/prometheus/metrics","insecureSkipVerify":false}"""), new Handle());
        var plugin = Assert.IsType<MetricsDataSourcePlugin>(result.Plugin);
        Assert.Equal(("https", "/prometheus/metrics", false), (plugin.Parameters.Scheme, plugin.Parameters.Path, plugin.Parameters.InsecureSkipVerify));

        var defaults = Assert.IsType<MetricsDataSourcePlugin>(Factory(BuiltInPlugins.MetricsDataSource)("src", default, new Handle()).Plugin);
        Assert.Equal(("http", "/metrics", true), (defaults.Parameters.Scheme, defaults.Parameters.Path, defaults.Parameters.InsecureSkipVerify));
    }

    [Fact]
    public void ModelServerProtocolMetrics_EngineConfigs_BuildMappings()
    {
        var result = Factory(BuiltInPlugins.ModelServerProtocolMetrics)("mapping", Json("""
            {"queuedRequestsSpec": "my_queue", "engineConfigs": [{"name": "atom", "queuedRequestsSpec": "atom:requests_waiting"}]}
            """), new Handle());
        var plugin = Assert.IsType<ModelServerMetricsPlugin>(result.Plugin);
        Assert.Equal("my_queue", plugin.Mappings.Default.QueuedRequests!.Name);
        Assert.Equal("atom:requests_waiting", plugin.Mappings.Engines["atom"].QueuedRequests!.Name);
    }

    [Fact]
    public void ModelServerProtocolMetrics_BadSpec_IsAnError()
    {
        var result = Factory(BuiltInPlugins.ModelServerProtocolMetrics)("mapping", Json("""{"kvUsageSpec": "bad{"}"""), new Handle());
        Assert.Null(result.Plugin);
        Assert.Contains("parameters.kvUsageSpec", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateScraper_UsesConfiguredPlugins()
    {
        var source = new MetricsDataSourcePlugin(BuiltInPlugins.MetricsDataSource, "src", new Runtime.Plugins.BuiltIn.Parameters.MetricsDataSourceParameters("https", "/m", false));
        await using var scraper = ModelMetricsPlugins.CreateScraper(new EndpointStore(), [source], TimeSpan.FromMilliseconds(100), MetricKinds.WaitingQueue);
        Assert.Equal(0, scraper.EndpointCount);
        Assert.Equal(MetricKinds.KvCacheUsage | MetricKinds.LoraAdapters, ModelMetricsPlugins.RequiredKinds([new Consumer(MetricKinds.KvCacheUsage), new Consumer(MetricKinds.LoraAdapters), source]));
    }

    private sealed record Consumer(MetricKinds RequiredMetrics) : IPlugin, IMetricsConsumer
    {
        public string TypeName => "consumer";

        public string Name => "consumer";
    }

    private sealed class Handle : IPluginHandle
    {
        public ILoggerFactory LoggerFactory => NullLoggerFactory.Instance;

        public TimeProvider TimeProvider => TimeProvider.System;

        public CancellationToken Stopping => CancellationToken.None;

        public bool TryGetPlugin(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPlugin? plugin)
        {
            plugin = null;
            return false;
        }

        public T? GetService<T>()
            where T : class => null;
    }
}
