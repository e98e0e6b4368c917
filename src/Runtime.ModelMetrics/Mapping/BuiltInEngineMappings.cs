namespace Runtime.ModelMetrics.Mapping;

/// <summary>
/// The engines known without configuration. Names and series follow the model-server protocol table
/// of GIE / llm-d (docs "Model Servers" → "EPP &lt;-&gt; Model Server Protocol", and llm-d-router's
/// <c>defaultEngineConfigs</c>): vLLM, SGLang, <c>trtllm-serve</c> and Triton with the TensorRT-LLM
/// backend (<c>triton-tensorrt-llm</c>, GIE's "Use Triton with TensorRT-LLM Backend" guide).
/// </summary>
internal static class BuiltInEngineMappings
{
    public const string Vllm = "vllm";
    public const string SgLang = "sglang";
    public const string TrtLlmServe = "trtllm-serve";
    public const string TritonTensorRtLlm = "triton-tensorrt-llm";

    public static EngineMetricsMapping VllmMapping { get; } = new()
    {
        Engine = Vllm,
        QueuedRequests = MetricSpec.Parse("vllm:num_requests_waiting"),
        RunningRequests = MetricSpec.Parse("vllm:num_requests_running"),
        KvUsage = MetricSpec.Parse("vllm:kv_cache_usage_perc"),

        // vLLM before v0.10 (V0 engine) named the same gauge gpu_cache_usage_perc.
        KvUsageFallback = MetricSpec.Parse("vllm:gpu_cache_usage_perc"),
        Lora = MetricSpec.Parse("vllm:lora_requests_info"),
        CacheInfo = MetricSpec.Parse("vllm:cache_config_info"),
    };

    public static EngineMetricsMapping SgLangMapping { get; } = new()
    {
        Engine = SgLang,
        QueuedRequests = MetricSpec.Parse("sglang:num_queue_reqs"),
        RunningRequests = MetricSpec.Parse("sglang:num_running_reqs"),
        KvUsage = MetricSpec.Parse("sglang:token_usage"),

        // llm-d's protocol table: SGLang's info gauge names the same values page_size / num_pages.
        CacheInfo = MetricSpec.Parse("sglang:cache_config_info"),
        CacheBlockSizeLabel = "page_size",
        CacheNumBlocksLabel = "num_pages",
    };

    /// <summary>
    /// <c>trtllm-serve</c> publishes these at <c>/prometheus/metrics</c> (TensorRT-LLM ≥ 1.3.0rc12 with
    /// <c>return_perf_metrics</c> and <c>enable_iter_perf_stats</c>); point the data source's path there.
    /// </summary>
    public static EngineMetricsMapping TrtLlmServeMapping { get; } = new()
    {
        Engine = TrtLlmServe,
        QueuedRequests = MetricSpec.Parse("trtllm_num_requests_waiting"),
        RunningRequests = MetricSpec.Parse("trtllm_num_requests_running"),
        KvUsage = MetricSpec.Parse("trtllm_kv_cache_utilization"),
        CacheBlockSize = MetricSpec.Parse("trtllm_kv_cache_tokens_per_block"),
        CacheNumBlocks = MetricSpec.Parse("trtllm_kv_cache_max_blocks"),
    };

    /// <summary>Triton's TensorRT-LLM backend: one gauge family per topic, selected by a type label.</summary>
    public static EngineMetricsMapping TritonTensorRtLlmMapping { get; } = new()
    {
        Engine = TritonTensorRtLlm,
        QueuedRequests = MetricSpec.Parse("nv_trt_llm_request_metrics{request_type=\"waiting\"}"),
        RunningRequests = MetricSpec.Parse("nv_trt_llm_request_metrics{request_type=\"scheduled\"}"),
        KvUsage = MetricSpec.Parse("nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=\"fraction\"}"),
        CacheBlockSize = MetricSpec.Parse("nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=\"tokens_per\"}"),
        CacheNumBlocks = MetricSpec.Parse("nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=\"max\"}"),
    };

    /// <summary>Every built-in mapping by engine name.</summary>
    public static IReadOnlyDictionary<string, EngineMetricsMapping> All { get; } = new Dictionary<string, EngineMetricsMapping>(StringComparer.Ordinal)
    {
        [Vllm] = VllmMapping,
        [SgLang] = SgLangMapping,
        [TrtLlmServe] = TrtLlmServeMapping,
        [TritonTensorRtLlm] = TritonTensorRtLlmMapping,
    };

    /// <summary>Short engine label values (as in <see cref="Runtime.Endpoints.Endpoint.EngineTypeLabel"/>'s docs) → the engine they mean.</summary>
    public static IReadOnlyDictionary<string, string> Aliases { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["trtllm"] = TrtLlmServe,
        ["triton"] = TritonTensorRtLlm,
    };
}
