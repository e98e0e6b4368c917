using System.Text;
using Runtime.Endpoints;
using Runtime.ModelMetrics.Extraction;
using Runtime.ModelMetrics.Mapping;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.TestSupport.ModelServers;

namespace Runtime.ModelMetrics.Tests.Extraction;

public class EndpointMetricsExtractorTests
{
    private static MetricsReading Extract(string page, EngineMetricsMapping mapping, MetricKinds kinds = MetricKinds.All, EndpointMetrics? previous = null, LoraAdapterCache? cache = null)
    {
        var reading = MetricsReading.From(previous ?? EndpointMetrics.None);
        EndpointMetricsExtractor.Extract(Encoding.UTF8.GetBytes(page), mapping, kinds, cache, ref reading);
        return reading;
    }

    [Fact]
    public void Extract_VllmPage_ReadsEveryKind()
    {
        var r = Extract(ModelServerPages.Vllm(waiting: 3, running: 7, kvUsage: 0.42, runningAdapters: "sql-lora, chat-lora", waitingAdapters: "new-lora", maxLora: 4), BuiltInEngineMappings.VllmMapping);
        Assert.Equal(MetricKinds.All, r.Found);
        Assert.Equal(3, r.WaitingQueueSize);
        Assert.Equal(7, r.RunningRequests);
        Assert.Equal(0.42, r.KvCacheUsage);
        Assert.Equal(["sql-lora", "chat-lora"], r.ActiveLoraAdapters);
        Assert.Equal(["new-lora"], r.WaitingLoraAdapters);
        Assert.Equal(4, r.MaxLoraAdapters);
        Assert.Equal(16, r.CacheBlockSize);
        Assert.Equal(27651, r.CacheGpuBlocks);
        Assert.Equal(100, r.Samples);
        Assert.Equal(0, r.MalformedLines);
    }

    [Fact]
    public void Extract_OldVllmKvName_UsesFallback()
    {
        var r = Extract(ModelServerPages.Vllm(kvUsage: 0.8, oldKvName: true), BuiltInEngineMappings.VllmMapping);
        Assert.Equal(0.8, r.KvCacheUsage);
        Assert.True(r.Found.HasFlag(MetricKinds.KvCacheUsage));
    }

    [Fact]
    public void Extract_BothKvNames_PrefersCurrentName()
    {
        var r = Extract("vllm:gpu_cache_usage_perc 0.9\nvllm:kv_cache_usage_perc 0.1\n", BuiltInEngineMappings.VllmMapping);
        Assert.Equal(0.1, r.KvCacheUsage);
    }

    [Fact]
    public void Extract_SgLangPage_ReadsQueueRunningTokenUsageAndPages()
    {
        var r = Extract(ModelServerPages.SgLang(queued: 5, running: 12, tokenUsage: 0.63), BuiltInEngineMappings.SgLangMapping);
        Assert.Equal((5, 12, 0.63), (r.WaitingQueueSize, r.RunningRequests, r.KvCacheUsage));
        Assert.Equal(64, r.CacheBlockSize);
        Assert.Equal(11147, r.CacheGpuBlocks);
        Assert.False(r.Found.HasFlag(MetricKinds.LoraAdapters));
    }

    [Fact]
    public void Extract_TritonPage_SelectsSeriesByLabel()
    {
        var r = Extract(ModelServerPages.TritonTensorRtLlm(waiting: 2, scheduled: 9, fraction: 0.375), BuiltInEngineMappings.TritonTensorRtLlmMapping);
        Assert.Equal((2, 9, 0.375), (r.WaitingQueueSize, r.RunningRequests, r.KvCacheUsage));
        Assert.Equal(64, r.CacheBlockSize);
        Assert.Equal(8, r.CacheGpuBlocks);
    }

    [Fact]
    public void Extract_TrtLlmServePage_ReadsGauges()
    {
        var r = Extract(ModelServerPages.TrtLlmServe(waiting: 4, running: 6, utilization: 0.5), BuiltInEngineMappings.TrtLlmServeMapping);
        Assert.Equal((4, 6, 0.5, 32, 4096L), (r.WaitingQueueSize, r.RunningRequests, r.KvCacheUsage, r.CacheBlockSize, r.CacheGpuBlocks));
    }

    [Fact]
    public void Extract_OnlyRequestedKinds_AreRead()
    {
        var previous = new EndpointMetrics { RunningRequests = 99, KvCacheUsage = 0.99, CacheBlockSize = 7 };
        var r = Extract(ModelServerPages.Vllm(waiting: 3), BuiltInEngineMappings.VllmMapping, MetricKinds.WaitingQueue, previous);
        Assert.Equal(MetricKinds.WaitingQueue, r.Found);
        Assert.Equal(3, r.WaitingQueueSize);
        Assert.Equal(99, r.RunningRequests);
        Assert.Equal(0.99, r.KvCacheUsage);
        Assert.Equal(7, r.CacheBlockSize);
        Assert.Empty(r.ActiveLoraAdapters);
    }

    [Fact]
    public void Extract_MissingAndNonFiniteValues_KeepPrevious()
    {
        var previous = new EndpointMetrics { WaitingQueueSize = 11, RunningRequests = 22, KvCacheUsage = 0.5 };
        var r = Extract("vllm:num_requests_waiting NaN\nvllm:kv_cache_usage_perc +Inf\n", BuiltInEngineMappings.VllmMapping, previous: previous);
        Assert.Equal(MetricKinds.None, r.Found);
        Assert.Equal((11, 22, 0.5), (r.WaitingQueueSize, r.RunningRequests, r.KvCacheUsage));
    }

    [Fact]
    public void Extract_DataParallelSeries_SumsCountsAndTakesLargestKv()
    {
        var page = """
            vllm:num_requests_waiting{engine="0"} 6
            vllm:num_requests_waiting{engine="1"} 10
            vllm:num_requests_running{engine="0"} 40
            vllm:num_requests_running{engine="1"} 38
            vllm:kv_cache_usage_perc{engine="0"} 0.52
            vllm:kv_cache_usage_perc{engine="1"} 0.91

            """;
        var r = Extract(page, BuiltInEngineMappings.VllmMapping);
        Assert.Equal((16, 78, 0.91), (r.WaitingQueueSize, r.RunningRequests, r.KvCacheUsage));
    }

    [Fact]
    public void Extract_SeveralLoraSeries_TakesNewest()
    {
        var page = """
            vllm:lora_requests_info{max_lora="2",running_lora_adapters="old",waiting_lora_adapters=""} 1.0e9
            vllm:lora_requests_info{max_lora="4",running_lora_adapters="new1,new2",waiting_lora_adapters="w"} 1.5e9
            vllm:lora_requests_info{max_lora="3",running_lora_adapters="older",waiting_lora_adapters=""} 1.2e9

            """;
        var r = Extract(page, BuiltInEngineMappings.VllmMapping);
        Assert.Equal(["new1", "new2"], r.ActiveLoraAdapters);
        Assert.Equal(["w"], r.WaitingLoraAdapters);
        Assert.Equal(4, r.MaxLoraAdapters);
    }

    [Fact]
    public void Extract_UnchangedLoraLabels_ReuseListsWithoutAllocating()
    {
        var cache = new LoraAdapterCache();
        var page = Encoding.UTF8.GetBytes(ModelServerPages.Vllm(runningAdapters: "a,b", waitingAdapters: "c"));
        var first = MetricsReading.From(EndpointMetrics.None);
        EndpointMetricsExtractor.Extract(page, BuiltInEngineMappings.VllmMapping, MetricKinds.All, cache, ref first);

        var second = MetricsReading.From(EndpointMetrics.None);
        var before = GC.GetAllocatedBytesForCurrentThread();
        EndpointMetricsExtractor.Extract(page, BuiltInEngineMappings.VllmMapping, MetricKinds.All, cache, ref second);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Same(first.ActiveLoraAdapters, second.ActiveLoraAdapters);
        Assert.Same(first.WaitingLoraAdapters, second.WaitingLoraAdapters);

        var changed = MetricsReading.From(EndpointMetrics.None);
        EndpointMetricsExtractor.Extract(Encoding.UTF8.GetBytes(ModelServerPages.Vllm(runningAdapters: "a,b,d", waitingAdapters: "c")), BuiltInEngineMappings.VllmMapping, MetricKinds.All, cache, ref changed);
        Assert.Equal(["a", "b", "d"], changed.ActiveLoraAdapters);
        Assert.Same(first.WaitingLoraAdapters, changed.WaitingLoraAdapters);
    }

    [Fact]
    public void Extract_SpecOverride_ReadsConfiguredSeries()
    {
        var parameters = new ModelServerMetricsExtractorParameters
        {
            QueuedRequestsSpec = "nv_trt_llm_request_metrics{request_type=waiting}",
            RunningRequestsSpec = "nv_trt_llm_request_metrics{request_type=\"active\"}",
        };
        Assert.True(ModelServerMetricsMappings.TryCreate(parameters, out var mappings, out _));
        var mapping = mappings.For(new Endpoint("p", "10.0.0.1", 8000));
        var r = Extract(ModelServerPages.TritonTensorRtLlm(waiting: 2), mapping);
        Assert.Equal(2, r.WaitingQueueSize);
        Assert.Equal(11, r.RunningRequests);
    }

    [Fact]
    public void Extract_CacheInfoNotYetSized_KeepsPrevious()
    {
        var previous = new EndpointMetrics { CacheBlockSize = 16, CacheGpuBlocks = 100 };
        var r = Extract("vllm:cache_config_info{block_size=\"32\",num_gpu_blocks=\"None\"} 1\n", BuiltInEngineMappings.VllmMapping, previous: previous);
        Assert.Equal(32, r.CacheBlockSize);
        Assert.Equal(100, r.CacheGpuBlocks);
    }

    [Fact]
    public void Extract_GarbagePage_NeverThrows()
    {
        var random = new Random(99);
        for (var i = 0; i < 500; i++)
        {
            var page = new byte[random.Next(1, 300)];
            random.NextBytes(page);
            var reading = MetricsReading.From(EndpointMetrics.None);
            EndpointMetricsExtractor.Extract(page, BuiltInEngineMappings.VllmMapping, MetricKinds.All, new LoraAdapterCache(), ref reading);
        }
    }
}
