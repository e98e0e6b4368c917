using Runtime.Endpoints;
using Runtime.ModelMetrics.Mapping;
using Runtime.Plugins.BuiltIn.Parameters;

namespace Runtime.ModelMetrics.Tests.Mapping;

public class ModelServerMetricsMappingsTests
{
    private static Endpoint Pod(string? engine, string labelKey = Endpoint.EngineTypeLabel) =>
        new("pod", "10.0.0.1", 8000, engine is null ? null : new Dictionary<string, string> { [labelKey] = engine });

    [Theory]
    [InlineData(null, "vllm")]
    [InlineData("vllm", "vllm")]
    [InlineData("sglang", "sglang")]
    [InlineData("trtllm-serve", "trtllm-serve")]
    [InlineData("trtllm", "trtllm-serve")]
    [InlineData("triton-tensorrt-llm", "triton-tensorrt-llm")]
    [InlineData("triton", "triton-tensorrt-llm")]
    [InlineData("unknown-engine", "vllm")]
    public void For_BuiltIn_ChoosesByEngineLabel(string? engine, string expected)
    {
        Assert.Equal(expected, ModelServerMetricsMappings.BuiltIn.For(Pod(engine)).Engine);
    }

    [Fact]
    public void TryCreate_TopLevelSpecs_OverrideDefaultEngineOnly()
    {
        var parameters = new ModelServerMetricsExtractorParameters
        {
            QueuedRequestsSpec = "nv_trt_llm_request_metrics{request_type=waiting}",
            KvUsageSpec = "nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=fraction}",
            LoraSpec = "",
        };
        Assert.True(ModelServerMetricsMappings.TryCreate(parameters, out var mappings, out var errors), string.Join("; ", errors));
        var unlabelled = mappings.For(Pod(null));
        Assert.Equal("nv_trt_llm_request_metrics{request_type=\"waiting\"}", unlabelled.QueuedRequests!.ToString());
        Assert.Equal("vllm:num_requests_running", unlabelled.RunningRequests!.Name);
        Assert.Null(unlabelled.KvUsageFallback);
        Assert.Null(unlabelled.Lora);
        Assert.Same(unlabelled, mappings.For(Pod("vllm")));
        Assert.Equal("sglang:num_queue_reqs", mappings.For(Pod("sglang")).QueuedRequests!.Name);
    }

    [Fact]
    public void TryCreate_EngineConfigs_ReplaceBuiltInAndAddNew()
    {
        var parameters = new ModelServerMetricsExtractorParameters(
        [
            new EngineMetricsParameters { Name = "sglang", QueuedRequestsSpec = "sglang:custom_queue" },
            new EngineMetricsParameters { Name = "atom", QueuedRequestsSpec = "atom:requests_waiting", KvUsageSpec = "atom:kv_cache_usage_ratio" },
            new EngineMetricsParameters { Name = "trtllm-serve", QueuedRequestsSpec = "my_trt_queue" },
        ])
        {
            EngineLabelKey = "llm-d.ai/engine-type",
        };
        Assert.True(ModelServerMetricsMappings.TryCreate(parameters, out var mappings, out var errors), string.Join("; ", errors));
        var sglang = mappings.For(Pod("sglang", "llm-d.ai/engine-type"));
        Assert.Equal("sglang:custom_queue", sglang.QueuedRequests!.Name);
        Assert.Null(sglang.RunningRequests);
        Assert.Equal("atom:kv_cache_usage_ratio", mappings.For(Pod("atom", "llm-d.ai/engine-type")).KvUsage!.Name);
        Assert.Equal("my_trt_queue", mappings.For(Pod("trtllm", "llm-d.ai/engine-type")).QueuedRequests!.Name);

        // The default label key is no longer read.
        Assert.Equal("vllm", mappings.For(Pod("sglang")).Engine);
    }

    [Fact]
    public void TryCreate_InvalidSpecs_ReportsEveryOneWithItsPath()
    {
        var parameters = new ModelServerMetricsExtractorParameters([new EngineMetricsParameters { Name = "x", KvUsageSpec = "bad{" }])
        {
            QueuedRequestsSpec = "1bad",
        };
        Assert.False(ModelServerMetricsMappings.TryCreate(parameters, out _, out var errors));
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("engineConfigs[0].kvUsageSpec:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("queuedRequestsSpec:", StringComparison.Ordinal));
    }
}
