using System.Text;
using System.Text.Json;
using Runtime.Endpoints;
using Runtime.ModelMetrics.Dcgm;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Validation;
using Runtime.TestSupport.ModelServers;

namespace Runtime.ModelMetrics.Tests.Dcgm;

public class DcgmTests
{
    private const string Gpu = BuiltInPlugins.GpuUtilizationAttribute;

    // What a DCGM exporter DaemonSet serves: one series per GPU, labelled with the pod using it.
    private const string NodePage = """
        # HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
        # TYPE DCGM_FI_DEV_GPU_UTIL gauge
        DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="node-1",container="vllm",namespace="default",pod="vllm-a"} 35
        DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-b",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="node-1",container="vllm",namespace="default",pod="vllm-a"} 80
        DCGM_FI_DEV_GPU_UTIL{gpu="2",UUID="GPU-c",device="nvidia2",modelName="NVIDIA H100 80GB HBM3",Hostname="node-1",container="vllm",namespace="default",pod="vllm-b"} 12
        # HELP DCGM_FI_DEV_FB_USED Framebuffer memory used (in MiB).
        # TYPE DCGM_FI_DEV_FB_USED gauge
        DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-a",pod="vllm-a"} 70000

        """;

    [Fact]
    public void Read_TakesThePodsBusiestGpu_OthersPodsIgnored()
    {
        Assert.True(DcgmGpuUtilization.TryRead(Encoding.UTF8.GetBytes(NodePage), "vllm-a"u8, out var a, out var malformed));
        Assert.Equal(0.80, a, 9);
        Assert.Equal(0, malformed);
        Assert.True(DcgmGpuUtilization.TryRead(Encoding.UTF8.GetBytes(NodePage), "vllm-b"u8, out var b, out _));
        Assert.Equal(0.12, b, 9);
        Assert.False(DcgmGpuUtilization.TryRead(Encoding.UTF8.GetBytes(NodePage), "vllm-c"u8, out _, out _));
    }

    [Fact]
    public void Read_SidecarPageWithoutPodLabel_EverySampleCounts()
    {
        var page = "DCGM_FI_DEV_GPU_UTIL{gpu=\"0\"} 40\nDCGM_FI_DEV_GPU_UTIL{gpu=\"1\"} 65\n"u8;

        Assert.True(DcgmGpuUtilization.TryRead(page, "vllm-z"u8, out var value, out _));
        Assert.Equal(0.65, value, 9);
        Assert.False(DcgmGpuUtilization.TryRead("DCGM_FI_DEV_FB_USED 1\n"u8, ""u8, out _, out _));
    }

    [Fact]
    public void Read_AllocatesNothing()
    {
        var page = Encoding.UTF8.GetBytes(NodePage);
        DcgmGpuUtilization.TryRead(page, "vllm-b"u8, out _, out _);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            DcgmGpuUtilization.TryRead(page, "vllm-b"u8, out _, out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData("vllm-a-rank-0", "vllm-a")]
    [InlineData("vllm-a-rank-12", "vllm-a")]
    [InlineData("vllm-rank-x", "vllm-rank-x")]
    public void PodName_StripsTheRankSuffix(string endpointName, string pod)
    {
        Assert.Equal(pod, Encoding.UTF8.GetString(DcgmScraper.PodName(new Endpoint(endpointName, "10.0.0.1", 8000))));
        Assert.Empty(DcgmScraper.PodName(new Endpoint(string.Empty, "10.0.0.1", 8000)));
    }

    [Fact]
    public async Task Scraper_PublishesEachPodsUtilisation_KeepsItWhenTheExporterFails()
    {
        await using var exporter = await FakeMetricsServer.StartAsync(1, _ => Encoding.UTF8.GetBytes(NodePage));
        var store = new EndpointStore();
        store.Publish([new Endpoint("vllm-a-rank-0", "127.0.0.1", 8000), new Endpoint("vllm-b-rank-0", "127.0.0.1", 8001), new Endpoint("vllm-c-rank-0", "127.0.0.1", 8002)]);
        var parameters = new DcgmDataSourceParameters(Port: exporter.Servers[0].Port);
        await using var scraper = new DcgmScraper(store, parameters, TimeSpan.FromSeconds(1));

        await scraper.ScrapeOnceAsync(CancellationToken.None);

        var states = store.Current.Endpoints;
        Assert.True(states[0].Attributes.TryGet(Gpu, out var a));
        Assert.Equal(0.80, a, 9);
        Assert.True(states[1].Attributes.TryGet(Gpu, out var b));
        Assert.Equal(0.12, b, 9);
        Assert.False(states[2].Attributes.TryGet(Gpu, out _));
        Assert.Equal(3, exporter.Servers[0].Requests);

        exporter.Servers[0].StatusCode = 500;
        await scraper.ScrapeOnceAsync(CancellationToken.None);
        Assert.True(states[0].Attributes.TryGet(Gpu, out var kept));
        Assert.Equal(0.80, kept, 9);
    }

    [Fact]
    public async Task Scrapers_OnlyForASourceWithADcgmExtractor_AndTheLoopRuns()
    {
        await using var exporter = await FakeMetricsServer.StartAsync(1, _ => "DCGM_FI_DEV_GPU_UTIL{gpu=\"0\"} 50\n"u8.ToArray());
        var store = new EndpointStore();
        store.Publish([new Endpoint("10.0.0.1:8000", "127.0.0.1", 8000)]);
        var plugins = new Dictionary<string, IPlugin>
        {
            ["dcgm"] = new DcgmDataSourcePlugin("dcgm", new DcgmDataSourceParameters(Port: exporter.Servers[0].Port)),
            ["x"] = new DcgmExtractorPlugin("x"),
        };

        Assert.Empty(DcgmPlugins.CreateScrapers(store, plugins, [("dcgm", [])], TimeSpan.FromMilliseconds(20), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance));
        var scrapers = DcgmPlugins.CreateScrapers(store, plugins, [("dcgm", ["x"])], TimeSpan.FromMilliseconds(20), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        await using var scraper = Assert.Single(scrapers);
        scraper.Start(CancellationToken.None);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (scraper.Readings < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.True(scraper.Readings >= 2);
        Assert.True(store.Current.Endpoints[0].Attributes.TryGet(Gpu, out var value));
        Assert.Equal(0.5, value, 9);
    }

    [Theory]
    [InlineData("""{"scheme": "ftp"}""", "unsupported scheme: ftp")]
    [InlineData("""{"port": 0}""", "must be a TCP port")]
    [InlineData("""{"path": "metrics"}""", "must be an absolute URL path")]
    [InlineData("""{"interval": "soon"}""", "must be a positive duration")]
    [InlineData("""{"portt": 9400}""", "portt")]
    [InlineData("""{"useNodeAddress": true}""", "useNodeAddress: not available in this build")]
    public void BadParameters_AreErrors(string json, string expected)
    {
        var errors = new ValidationErrors();
        BuiltInParameterBinders.DcgmDataSource.TryBind(JsonDocument.Parse(json).RootElement, "parameters", errors, out _);

        Assert.Contains(errors.Errors, e => $"{e.Path}: {e.Message}".Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Parameters_DefaultsAsLlmD()
    {
        var errors = new ValidationErrors();
        Assert.True(BuiltInParameterBinders.DcgmDataSource.TryBind(JsonDocument.Parse("{}").RootElement, "parameters", errors, out var p));
        Assert.Equal(("http", "/metrics", 9400, true, false), (p!.Scheme, p.Path, p.Port, p.InsecureSkipVerify, p.UseNodeAddress));
    }
}
