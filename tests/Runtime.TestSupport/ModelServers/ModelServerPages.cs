using System.Globalization;
using System.Text;

namespace Runtime.TestSupport.ModelServers;

/// <summary>Realistic Prometheus pages of the model servers, shaped like what each engine really serves.</summary>
public static class ModelServerPages
{
    private const string Model = "meta-llama/Llama-3.1-8B-Instruct";

    /// <summary>
    /// A vLLM (V1 engine) page with <paramref name="series"/> sample lines in all: the scheduler's gauges,
    /// LoRA and cache info first, then counters and latency histograms filling up the rest, each family
    /// with its <c># HELP</c>/<c># TYPE</c> lines as prometheus_client writes them.
    /// </summary>
    public static string Vllm(
        int series = 100,
        int waiting = 3,
        int running = 7,
        double kvUsage = 0.42,
        string runningAdapters = "sql-lora,chat-lora",
        string waitingAdapters = "",
        int maxLora = 4,
        bool oldKvName = false)
    {
        var b = new StringBuilder();
        var lines = 0;
        void Family(string name, string type, string help)
        {
            b.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            b.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        }

        void Sample(string name, string labels, string value)
        {
            b.Append(name).Append('{').Append(labels).Append("} ").Append(value).Append('\n');
            lines++;
        }

        var common = $"engine=\"0\",model_name=\"{Model}\"";
        Family("vllm:num_requests_running", "gauge", "Number of requests in model execution batches.");
        Sample("vllm:num_requests_running", common, Num(running));
        Family("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.");
        Sample("vllm:num_requests_waiting", common, Num(waiting));
        var kvName = oldKvName ? "vllm:gpu_cache_usage_perc" : "vllm:kv_cache_usage_perc";
        Family(kvName, "gauge", "KV-cache usage. 1 means 100 percent usage.");
        Sample(kvName, common, Num(kvUsage));
        Family("vllm:lora_requests_info", "gauge", "Running stats on lora requests.");
        Sample("vllm:lora_requests_info", $"max_lora=\"{maxLora}\",running_lora_adapters=\"{runningAdapters}\",waiting_lora_adapters=\"{waitingAdapters}\"", "1.7301e+09");
        Family("vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig");
        Sample("vllm:cache_config_info", "block_size=\"16\",cache_dtype=\"auto\",enable_prefix_caching=\"True\",gpu_memory_utilization=\"0.9\",num_cpu_blocks=\"None\",num_gpu_blocks=\"27651\",swap_space=\"4\"", "1.0");
        Family("vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.");
        Sample("vllm:prompt_tokens_total", common, "1.234567e+06");
        Family("vllm:generation_tokens_total", "counter", "Number of generation tokens processed.");
        Sample("vllm:generation_tokens_total", common, "987654.0");
        Family("vllm:num_preemptions_total", "counter", "Cumulative number of preemption from the engine.");
        Sample("vllm:num_preemptions_total", common, "0.0");

        // Histograms fill the rest, as on a real page (most of a vLLM page is buckets).
        string[] histograms = ["vllm:time_to_first_token_seconds", "vllm:inter_token_latency_seconds", "vllm:e2e_request_latency_seconds", "vllm:request_queue_time_seconds", "vllm:request_prefill_time_seconds", "vllm:request_decode_time_seconds"];
        string[] buckets = ["0.001", "0.005", "0.01", "0.02", "0.04", "0.06", "0.08", "0.1", "0.25", "0.5", "0.75", "1.0", "2.5", "5.0", "7.5", "10.0", "20.0", "40.0", "80.0", "+Inf"];
        var h = 0;
        while (lines < series)
        {
            var name = histograms[h % histograms.Length] + (h >= histograms.Length ? $"_{h}" : string.Empty);
            Family(name, "histogram", "Histogram of request latency in seconds.");
            long count = 0;
            foreach (var le in buckets)
            {
                if (lines >= series - 2)
                {
                    break;
                }

                count += 17;
                Sample(name + "_bucket", $"{common},le=\"{le}\"", Num(count));
            }

            if (lines < series)
            {
                Sample(name + "_count", common, Num(count));
            }

            if (lines < series)
            {
                Sample(name + "_sum", common, "123.45600000000002");
            }

            h++;
        }

        return b.ToString();
    }

    /// <summary>An SGLang page (its gauges carry <c>model_name</c>, values as floats).</summary>
    public static string SgLang(int queued = 5, int running = 12, double tokenUsage = 0.63) =>
        $$"""
        # HELP sglang:num_running_reqs The number of running requests.
        # TYPE sglang:num_running_reqs gauge
        sglang:num_running_reqs{model_name="{{Model}}"} {{Num(running)}}.0
        # HELP sglang:num_used_tokens The number of used tokens.
        # TYPE sglang:num_used_tokens gauge
        sglang:num_used_tokens{model_name="{{Model}}"} 81234.0
        # HELP sglang:token_usage The token usage.
        # TYPE sglang:token_usage gauge
        sglang:token_usage{model_name="{{Model}}"} {{Num(tokenUsage)}}
        # HELP sglang:gen_throughput The generation throughput (token/s).
        # TYPE sglang:gen_throughput gauge
        sglang:gen_throughput{model_name="{{Model}}"} 1523.7
        # HELP sglang:num_queue_reqs The number of requests in the waiting queue.
        # TYPE sglang:num_queue_reqs gauge
        sglang:num_queue_reqs{model_name="{{Model}}"} {{Num(queued)}}.0
        # HELP sglang:cache_config_info Cache configuration.
        # TYPE sglang:cache_config_info gauge
        sglang:cache_config_info{num_pages="11147",page_size="64"} 1.0
        # HELP sglang:prompt_tokens_total Number of prefill tokens processed.
        # TYPE sglang:prompt_tokens_total counter
        sglang:prompt_tokens_total{model_name="{{Model}}"} 4.5e+06

        """;

    /// <summary>Triton with the TensorRT-LLM backend: one family per topic, the kind in a label.</summary>
    public static string TritonTensorRtLlm(int waiting = 2, int scheduled = 9, double fraction = 0.375) =>
        $$"""
        # HELP nv_trt_llm_request_metrics TRT LLM request metrics
        # TYPE nv_trt_llm_request_metrics gauge
        nv_trt_llm_request_metrics{model="tensorrt_llm",request_type="context",version="1"} 1
        nv_trt_llm_request_metrics{model="tensorrt_llm",request_type="scheduled",version="1"} {{Num(scheduled)}}
        nv_trt_llm_request_metrics{model="tensorrt_llm",request_type="max",version="1"} 512
        nv_trt_llm_request_metrics{model="tensorrt_llm",request_type="active",version="1"} 11
        nv_trt_llm_request_metrics{model="tensorrt_llm",request_type="waiting",version="1"} {{Num(waiting)}}
        # HELP nv_trt_llm_kv_cache_block_metrics TRT LLM KV cache block metrics
        # TYPE nv_trt_llm_kv_cache_block_metrics gauge
        nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="tokens_per",model="tensorrt_llm",version="1"} 64
        nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="used",model="tensorrt_llm",version="1"} 3
        nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="free",model="tensorrt_llm",version="1"} 5
        nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="max",model="tensorrt_llm",version="1"} 8
        nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="fraction",model="tensorrt_llm",version="1"} {{Num(fraction)}}
        # HELP nv_inference_request_success Number of successful inference requests, all batch sizes
        # TYPE nv_inference_request_success counter
        nv_inference_request_success{model="tensorrt_llm",version="1"} 500

        """;

    /// <summary><c>trtllm-serve</c>'s <c>/prometheus/metrics</c> gauges (TensorRT-LLM ≥ 1.3).</summary>
    public static string TrtLlmServe(int waiting = 4, int running = 6, double utilization = 0.5) =>
        $$"""
        # HELP trtllm_num_requests_waiting Number of requests waiting.
        # TYPE trtllm_num_requests_waiting gauge
        trtllm_num_requests_waiting{engine_type="trtllm",model_name="llama"} {{Num(waiting)}}
        # HELP trtllm_num_requests_running Number of requests running.
        # TYPE trtllm_num_requests_running gauge
        trtllm_num_requests_running{engine_type="trtllm",model_name="llama"} {{Num(running)}}
        # HELP trtllm_kv_cache_utilization KV cache utilization.
        # TYPE trtllm_kv_cache_utilization gauge
        trtllm_kv_cache_utilization{engine_type="trtllm",model_name="llama"} {{Num(utilization)}}
        trtllm_kv_cache_tokens_per_block{engine_type="trtllm",model_name="llama"} 32
        trtllm_kv_cache_max_blocks{engine_type="trtllm",model_name="llama"} 4096

        """;

    public static byte[] Utf8(string page) => Encoding.UTF8.GetBytes(page);

    private static string Num(double value) => value.ToString(CultureInfo.InvariantCulture);
}
