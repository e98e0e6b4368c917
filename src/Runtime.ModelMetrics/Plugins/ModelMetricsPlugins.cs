using System.Text.Json;
using Microsoft.Extensions.Logging;
using Runtime.Endpoints;
using Runtime.ModelMetrics.Mapping;
using Runtime.ModelMetrics.Scraping;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Registry;
using Runtime.Plugins.Validation;

namespace Runtime.ModelMetrics.Plugins;

/// <summary>A configured <c>metrics-data-source</c>: where each endpoint's metrics page is.</summary>
internal sealed record MetricsDataSourcePlugin(string TypeName, string Name, MetricsDataSourceParameters Parameters) : IPlugin;

/// <summary>A configured <c>core-metrics-extractor</c> (or its former name): which series mean what, per engine.</summary>
internal sealed record ModelServerMetricsPlugin(string TypeName, string Name, ModelServerMetricsMappings Mappings) : IPlugin;

/// <summary>
/// A configured notification source (<c>k8s-notification-source</c>, <c>endpoint-notification-source</c>).
/// GIE v1.5.0 delivers its events only to extractors attached to it in the dataLayer section, and no
/// built-in extractor takes them, so it has no effect of its own; it is built so such configs serve.
/// </summary>
/// <param name="Watched">The watched kind (<c>group/version, Kind=kind</c>), or null for endpoint events.</param>
internal sealed record NotificationSourcePlugin(string TypeName, string Name, string? Watched) : IPlugin;

/// <summary>The factories of the data-layer plugin types, and how the host turns them into a scraper.</summary>
internal static class ModelMetricsPlugins
{
    public static PluginRegistryBuilder UseModelMetricsFactories(this PluginRegistryBuilder builder) => builder
        .UseFactory(BuiltInPlugins.MetricsDataSource, CreateMetricsDataSource)
        .UseFactory(BuiltInPlugins.CoreMetricsExtractor, (name, parameters, handle) => CreateModelServerMetrics(BuiltInPlugins.CoreMetricsExtractor, name, parameters))
        .UseFactory(BuiltInPlugins.ModelServerProtocolMetrics, (name, parameters, handle) => CreateModelServerMetrics(BuiltInPlugins.ModelServerProtocolMetrics, name, parameters))
        .UseFactory(BuiltInPlugins.K8sNotificationSource, CreateK8sNotificationSource)
        .UseFactory(BuiltInPlugins.EndpointNotificationSource, static (name, _, _) => PluginResult.Success(new NotificationSourcePlugin(BuiltInPlugins.EndpointNotificationSource, name, null)));

    /// <summary>The union of what the configured plugins read; <see cref="MetricKinds.None"/> means nothing needs scraping.</summary>
    public static MetricKinds RequiredKinds(IEnumerable<IPlugin> plugins)
    {
        ArgumentNullException.ThrowIfNull(plugins);
        var kinds = MetricKinds.None;
        foreach (var plugin in plugins)
        {
            if (plugin is IMetricsConsumer consumer)
            {
                kinds |= consumer.RequiredMetrics;
            }
        }

        return kinds;
    }

    /// <summary>
    /// Builds (not starts) the scraper from the configured plugins: the first <c>metrics-data-source</c>
    /// and <c>model-server-protocol-metrics</c> among <paramref name="plugins"/>, or their defaults when
    /// the config has none (GIE adds both by default). <paramref name="refreshInterval"/> is
    /// <c>--refresh-metrics-interval</c>.
    /// </summary>
    public static EndpointMetricsScraper CreateScraper(
        EndpointStore store,
        IEnumerable<IPlugin> plugins,
        TimeSpan refreshInterval,
        MetricKinds kinds,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null,
        MetricsScrapeMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(plugins);
        var list = plugins as IReadOnlyCollection<IPlugin> ?? plugins.ToList();
        var source = list.OfType<MetricsDataSourcePlugin>().FirstOrDefault();
        var mappings = list.OfType<ModelServerMetricsPlugin>().FirstOrDefault()?.Mappings ?? ModelServerMetricsMappings.BuiltIn;
        var options = MetricsScraperOptions.From(source?.Parameters, refreshInterval, kinds);
        return new EndpointMetricsScraper(store, mappings, options, timeProvider, loggerFactory, metrics);
    }

    private static PluginResult CreateMetricsDataSource(string name, JsonElement parameters, IPluginHandle handle)
    {
        var errors = new ValidationErrors();
        if (!BuiltInParameterBinders.MetricsDataSource.TryBind(parameters, "parameters", errors, out var bound) || bound is null)
        {
            return PluginResult.Failure(Describe(errors));
        }

        return PluginResult.Success(new MetricsDataSourcePlugin(BuiltInPlugins.MetricsDataSource, name, bound));
    }

    private static PluginResult CreateK8sNotificationSource(string name, JsonElement parameters, IPluginHandle handle)
    {
        var errors = new ValidationErrors();
        if (!BuiltInParameterBinders.K8sNotificationSource.TryBind(parameters, "parameters", errors, out var bound) || bound is null)
        {
            return PluginResult.Failure(Describe(errors));
        }

        return PluginResult.Success(new NotificationSourcePlugin(BuiltInPlugins.K8sNotificationSource, name, $"{bound.Group}/{bound.Version}, Kind={bound.Kind}"));
    }

    private static PluginResult CreateModelServerMetrics(string typeName, string name, JsonElement parameters)
    {
        var errors = new ValidationErrors();
        if (!BuiltInParameterBinders.ModelServerMetricsExtractor.TryBind(parameters, "parameters", errors, out var bound) || bound is null)
        {
            return PluginResult.Failure(Describe(errors));
        }

        return ModelServerMetricsMappings.TryCreate(bound, out var mappings, out var problems)
            ? PluginResult.Success(new ModelServerMetricsPlugin(typeName, name, mappings))
            : PluginResult.Failure(string.Join("; ", problems.Select(p => $"parameters.{p}")));
    }

    private static string Describe(ValidationErrors errors) => string.Join("; ", errors.Errors.Select(e => $"{e.Path}: {e.Message}"));
}
