using System.Text;
using BenchmarkDotNet.Attributes;
using Runtime.Benchmarks.Infrastructure;
using Runtime.Endpoints;
using Runtime.ModelMetrics.Extraction;
using Runtime.ModelMetrics.Mapping;
using Runtime.ModelMetrics.Prometheus;
using Runtime.TestSupport.ModelServers;

namespace Runtime.Benchmarks.ModelMetrics;

/// <summary>
/// What one scrape costs after the bytes arrived: reading a 100-series vLLM page (with HELP/TYPE
/// lines, LoRA and cache info, histograms) and extracting the scheduler's values from it. Both must
/// allocate nothing; the scraper's only per-scrape allocations are the HTTP objects and the
/// published <see cref="EndpointMetrics"/>.
/// </summary>
[MemoryDiagnoser]
public class EndpointMetricsExtractionBenchmark
{
    private readonly LoraAdapterCache _lora = new();
    private byte[] _vllmPage = [];

    [GlobalSetup]
    public void Setup()
    {
        _vllmPage = Encoding.UTF8.GetBytes(ModelServerPages.Vllm(series: 100));
        var reading = ParseAndExtractVllm100();
        if (reading != 3 || ParseVllm100() != 100)
        {
            throw new InvalidOperationException("The benchmark page did not parse as expected.");
        }
    }

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(ReadEverySeries))]
    public int ParseVllm100()
    {
        var reader = new PrometheusTextReader(_vllmPage);
        var count = 0;
        while (reader.TryRead(out _))
        {
            count++;
        }

        return count;
    }

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(ExtractedQueue))]
    public int ParseAndExtractVllm100()
    {
        var reading = MetricsReading.From(EndpointMetrics.None);
        EndpointMetricsExtractor.Extract(_vllmPage, BuiltInEngineMappings.VllmMapping, MetricKinds.All, _lora, ref reading);
        return reading.WaitingQueueSize;
    }

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(ExtractedQueue))]
    public int ParseAndExtractVllm100_QueueAndKvOnly()
    {
        var reading = MetricsReading.From(EndpointMetrics.None);
        EndpointMetricsExtractor.Extract(_vllmPage, BuiltInEngineMappings.VllmMapping, MetricKinds.WaitingQueue | MetricKinds.KvCacheUsage, _lora, ref reading);
        return reading.WaitingQueueSize;
    }

    private static bool ReadEverySeries(int count) => count == 100;

    // The page's vllm:num_requests_waiting is 3.
    private static bool ExtractedQueue(int waiting) => waiting == 3;
}
