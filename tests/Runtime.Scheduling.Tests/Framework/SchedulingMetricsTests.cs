using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.Pickers;
using Runtime.Scheduling.Prefix;
using Runtime.Scheduling.Scorers;
using Runtime.Scheduling.Tests.Support;
using Runtime.Telemetry.Prometheus;

namespace Runtime.Scheduling.Tests.Framework;

/// <summary>
/// The scheduler's plugin and prefix-index families (GIE v1.5.0 and llm-d v0.10). The meter is
/// process-wide, so each test names its plugins uniquely and reads only its own series.
/// </summary>
public sealed class SchedulingMetricsTests : IDisposable
{
    private readonly PrometheusExporter _exporter = new(new PrometheusExporterOptions { MeterFilter = m => m.Name == SchedulingMetrics.MeterName });
    private readonly string _name = "p" + Guid.NewGuid().ToString("N");

    public void Dispose() => _exporter.Dispose();

    [Fact]
    public void Schedule_RecordsScorerPickerAndPreRequestDurationsUnderBothFamilies()
    {
        var prefix = new PrefixCacheScorer(_name, new PrefixCacheScorerParameters(), new PrefixIndex());
        var picker = Picker();
        var scheduler = new Scheduler(new Profiles.SingleProfileHandler("h"), [new SchedulingProfile("default", [], [new WeightedScorer(prefix, 1)], picker)]);
        var endpoints = TestEndpoints.States(2);
        var result = new SchedulingResult();

        scheduler.Schedule(TestEndpoints.Request(TestEndpoints.LongPrompt(7, 64 * 4)), endpoints, result);
        var page = _exporter.Render();

        Assert.Equal(SchedulingStatus.Picked, result.Status);
        foreach (var family in new[] { "inference_extension_plugin_duration_seconds", "llm_d_epp_plugin_duration_seconds" })
        {
            Assert.Contains($"# HELP {family} [ALPHA] Plugin processing latency distribution in seconds for each extension point, plugin type and plugin name.\n", page, StringComparison.Ordinal);
            Assert.Contains($"{family}_count{{extension_point=\"Scorer\",plugin_name=\"{_name}\",plugin_type=\"prefix-cache-scorer\"}} 1\n", page, StringComparison.Ordinal);
            Assert.Contains($"{family}_count{{extension_point=\"PreRequest\",plugin_name=\"{_name}\",plugin_type=\"prefix-cache-scorer\"}} 1\n", page, StringComparison.Ordinal);
            Assert.Contains($"{family}_bucket{{extension_point=\"Scorer\",plugin_name=\"{_name}\",plugin_type=\"prefix-cache-scorer\",le=\"0.1\"}}", page, StringComparison.Ordinal);
        }

        Assert.Contains($"llm_d_epp_prefix_indexer_size{{plugin_name=\"{_name}\",plugin_type=\"prefix-cache-scorer\"}} 4\n", page, StringComparison.Ordinal);
        Assert.Contains("# TYPE inference_extension_prefix_indexer_size gauge\n", page, StringComparison.Ordinal);
    }

    [Fact]
    public void PrefixScore_RecordsHitRatioAndBytesOfTheLongestMatch()
    {
        var prefix = new PrefixCacheScorer(_name, new PrefixCacheScorerParameters(), new PrefixIndex());
        var context = new SchedulingContext();
        var endpoints = TestEndpoints.States(2);
        var prompt = TestEndpoints.LongPrompt(9, 64 * 10);
        var request = TestEndpoints.Request(prompt);
        context.BeginRequest();
        prefix.Score(context, request, endpoints, new double[2]);
        var result = new SchedulingResult();
        result.Add(endpoints[0]);
        prefix.PreRequest(context, request, result);

        // Half the blocks match on endpoint 0.
        context.BeginRequest();
        prefix.Score(context, TestEndpoints.Request(prompt[..(64 * 5)] + TestEndpoints.LongPrompt(10, 64 * 5)), endpoints, new double[2]);
        var page = _exporter.Render();

        var labels = $"plugin_name=\"{_name}\",plugin_type=\"prefix-cache-scorer\"";
        Assert.Contains($"llm_d_epp_prefix_indexer_hit_ratio_count{{{labels}}} 2\n", page, StringComparison.Ordinal);
        Assert.Contains($"llm_d_epp_prefix_indexer_hit_ratio_sum{{{labels}}} 0.5\n", page, StringComparison.Ordinal);
        Assert.Contains($"llm_d_epp_prefix_indexer_hit_ratio_bucket{{{labels},le=\"0\"}} 1\n", page, StringComparison.Ordinal);
        Assert.Contains($"llm_d_epp_prefix_indexer_hit_bytes_sum{{{labels}}} 320\n", page, StringComparison.Ordinal);
        Assert.Contains("# HELP inference_extension_prefix_indexer_hit_bytes [ALPHA] Length of the prefix match in number of bytes in the cache lookup.\n", page, StringComparison.Ordinal);
    }

    private static IPicker Picker() => new MaxScorePicker("max-" + Guid.NewGuid().ToString("N"), 1);
}
