using Runtime.Simulation.Tests.Support;

namespace Runtime.Simulation.Tests;

public sealed class VllmMetricsPageTests
{
    [Fact]
    public void Render_Snapshot_PageParsesWithVllmNamesAndLabels()
    {
        var page = PrometheusText.Parse(VllmMetricsPage.Render(new VllmMetricsSnapshot
        {
            ModelName = "m",
            Waiting = 3,
            Running = 2,
            KvCacheUsage = 0.25,
            MaxLora = 4,
            RunningLoraAdapters = ["a", "b"],
            WaitingLoraAdapters = ["c"],
            NumGpuBlocks = 1000,
            Timestamp = 1723456789.5,
        }));

        Assert.Equal(3, page.Value("vllm:num_requests_waiting"));
        Assert.Equal(2, page.Value("vllm:num_requests_running"));
        Assert.Equal(0.25, page.Value("vllm:kv_cache_usage_perc"));
        Assert.Equal("m", page.Only("vllm:num_requests_running").Labels["model_name"]);
        Assert.Equal("gauge", page.Types["vllm:num_requests_waiting"]);
        Assert.Equal("counter", page.Types["vllm:prompt_tokens_total"]);
        Assert.Equal("histogram", page.Types["vllm:time_to_first_token_seconds"]);

        var lora = page.Only("vllm:lora_requests_info");
        Assert.Equal("4", lora.Labels["max_lora"]);
        Assert.Equal("a,b", lora.Labels["running_lora_adapters"]);
        Assert.Equal("c", lora.Labels["waiting_lora_adapters"]);
        Assert.Equal(1723456789.5, lora.Value);

        var cache = page.Only("vllm:cache_config_info");
        Assert.Equal("16", cache.Labels["block_size"]);
        Assert.Equal("1000", cache.Labels["num_gpu_blocks"]);
        Assert.Equal(1, cache.Value);
    }

    [Fact]
    public void Render_Histogram_BucketsCumulativeAndInfEqualsCount()
    {
        var bounds = VllmMetricsPage.TimeToFirstTokenBuckets;
        var cumulative = bounds.Select((_, i) => (long)Math.Min(i, 5)).ToArray();
        var page = PrometheusText.Parse(VllmMetricsPage.Render(new VllmMetricsSnapshot
        {
            TimeToFirstToken = new HistogramSnapshot(bounds, cumulative, 1.5, 7),
        }));

        var buckets = page.All("vllm:time_to_first_token_seconds_bucket").ToList();
        Assert.Equal(bounds.Count + 1, buckets.Count);
        Assert.Equal("+Inf", buckets[^1].Labels["le"]);
        Assert.Equal(7, buckets[^1].Value);
        Assert.Equal(bounds[0], double.Parse(buckets[0].Labels["le"], System.Globalization.CultureInfo.InvariantCulture));
        for (var i = 1; i < buckets.Count; i++)
        {
            Assert.True(buckets[i].Value >= buckets[i - 1].Value);
        }

        Assert.Equal(7, page.Value("vllm:time_to_first_token_seconds_count"));
        Assert.Equal(1.5, page.Value("vllm:time_to_first_token_seconds_sum"));
    }

    [Fact]
    public void Render_NoLora_LoraInfoLeftOut()
    {
        var page = PrometheusText.Parse(VllmMetricsPage.Render(new VllmMetricsSnapshot { MaxLora = 0 }));

        Assert.Empty(page.All("vllm:lora_requests_info"));
    }

    [Theory]
    [InlineData(100)]
    [InlineData(1000)]
    public void Render_PadToSeries_PageHasExactlyThatManySamples(int series)
    {
        var text = new System.Text.StringBuilder();
        var rendered = VllmMetricsPage.Render(new VllmMetricsSnapshot { PadToSeries = series }, text);

        Assert.Equal(series, rendered);
        Assert.Equal(series, PrometheusText.Parse(text.ToString()).Samples.Count);
    }

    [Fact]
    public void Render_ModelNameWithQuoteAndBackslash_Escaped()
    {
        var page = PrometheusText.Parse(VllmMetricsPage.Render(new VllmMetricsSnapshot { ModelName = "a\"b\\c" }));

        Assert.Equal("a\"b\\c", page.Only("vllm:num_requests_waiting").Labels["model_name"]);
    }

    [Theory]
    [InlineData(0.0, "0.0")]
    [InlineData(2.0, "2.0")]
    [InlineData(0.25, "0.25")]
    [InlineData(123456.0, "123456.0")]
    [InlineData(1234567.0, "1.234567e+06")]
    [InlineData(1723456789.5, "1.7234567895e+09")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    public void FormatValue_LikePrometheusClient(double value, string expected)
    {
        Assert.Equal(expected, VllmMetricsPage.FormatValue(value));
    }
}
