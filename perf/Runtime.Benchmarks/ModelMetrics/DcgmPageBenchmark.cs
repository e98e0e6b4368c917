using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using Runtime.Benchmarks.Infrastructure;
using Runtime.ModelMetrics.Dcgm;

namespace Runtime.Benchmarks.ModelMetrics;

/// <summary>
/// Reading one pod's GPU utilisation from a DCGM exporter DaemonSet page of an 8-GPU node (8 pods,
/// 12 DCGM fields per GPU, HELP/TYPE lines): what dcgm-data-source does per endpoint and scrape once
/// the bytes arrived. Must allocate nothing.
/// </summary>
[MemoryDiagnoser]
public class DcgmPageBenchmark
{
    private static readonly string[] s_fields =
    [
        "DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_MEM_CLOCK", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_MEM_COPY_UTIL",
        "DCGM_FI_DEV_ENC_UTIL", "DCGM_FI_DEV_DEC_UTIL", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_FB_USED", "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
    ];

    private byte[] _page = [];

    [GlobalSetup]
    public void Setup()
    {
        var page = new StringBuilder();
        foreach (var field in s_fields)
        {
            page.Append(CultureInfo.InvariantCulture, $"# HELP {field} DCGM field.\n# TYPE {field} gauge\n");
            for (var gpu = 0; gpu < 8; gpu++)
            {
                page.Append(CultureInfo.InvariantCulture, $"{field}{{gpu=\"{gpu}\",UUID=\"GPU-{gpu:D4}\",device=\"nvidia{gpu}\",modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"node-1\",container=\"vllm\",namespace=\"llm\",pod=\"vllm-{gpu}\"}} {10 * gpu}\n");
            }
        }

        _page = Encoding.UTF8.GetBytes(page.ToString());
        if (ReadPodUtilization() != 0.5)
        {
            throw new InvalidOperationException("The benchmark page did not read as expected.");
        }
    }

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(ReadFive))]
    public double ReadPodUtilization() => DcgmGpuUtilization.TryRead(_page, "vllm-5"u8, out var value, out _) ? value : -1;

    private static bool ReadFive(double value) => value == 0.5;
}
