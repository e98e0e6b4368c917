using System.Globalization;
using System.Net;
using System.Text;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Simulation;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// <c>GET /metrics</c> on <c>--metrics-port</c> of the AOT binary: the endpoint picker's counters
/// after real picks and the pool gauges from three simulators whose metrics the test fixes.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class MetricsEndpointTests : IAsyncLifetime
{
    private const string Model = "meta-llama/Llama-3.1-8B-Instruct";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    private SimulatorFarm _farm = null!;

    public async Task InitializeAsync() => _farm = await SimulatorFarm.StartAsync(3, new SimulatorOptions());

    public async Task DisposeAsync() => await _farm.DisposeAsync();

    [Fact]
    public async Task Metrics_AfterPicks_ServesRequestCountsAndPoolGauges()
    {
        for (var i = 0; i < 3; i++)
        {
            _farm[i].Overrides = new MetricsOverrides { Waiting = 2 * (i + 1), KvCacheUsage = 0.2 * (i + 1) };
        }

        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--endpoints", string.Join(",", _farm.Servers.Select(s => s.Address))]);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await MetricsSettledAsync();
        for (var i = 0; i < 5; i++)
        {
            var body = Encoding.UTF8.GetBytes($$"""{"model":"{{Model}}","messages":[{"role":"user","content":"{{Guid.NewGuid():N}}"}]}""");
            var phase = new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [body] };
            var result = (await client.RunFullDuplexAsync(phase, timeout: s_timeout)).EnsureValid();
            Assert.Null(result.ImmediateResponse);
        }

        using var http = new HttpClient { Timeout = s_timeout };
        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{server.MetricsPort}/metrics"));
        var page = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Contains("# TYPE inference_objective_request_total counter\n", page, StringComparison.Ordinal);
        Assert.Contains($"inference_objective_request_total{{model_name=\"{Model}\",priority=\"0\",target_model_name=\"{Model}\"}} 5\n", page, StringComparison.Ordinal);
        Assert.Contains("# TYPE inference_pool_ready_pods gauge\n", page, StringComparison.Ordinal);
        Assert.Contains("inference_pool_ready_pods{name=\"static\"} 3\n", page, StringComparison.Ordinal);
        Assert.Equal(4, Sample(page, "inference_pool_average_queue_size{name=\"static\"}"), 6);
        Assert.Equal(0.4, Sample(page, "inference_pool_average_kv_cache_utilization{name=\"static\"}"), 6);
        Assert.Contains("inference_extension_scheduler_e2e_duration_seconds_count 5\n", page, StringComparison.Ordinal);
        Assert.Contains("# TYPE inference_extension_metrics_scrape_total counter\n", page, StringComparison.Ordinal);
        // Process health: arrays held by pooled streams and handlers between requests, never negative.
        Assert.Contains("# TYPE runtime_pooled_buffers_outstanding gauge\n", page, StringComparison.Ordinal);
        Assert.InRange(Sample(page, "runtime_pooled_buffers_outstanding"), 0, 10_000);
        Assert.Equal(page.Split('\n').Count(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)), page.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Distinct().Count());

        using var missing = await http.GetAsync(new Uri($"http://127.0.0.1:{server.MetricsPort}/other"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        server.EnsureRunning();
    }

    [Fact]
    public async Task MetricsPortZero_ServesNothing()
    {
        // The fixture passes a free --metrics-port first; the later flag wins.
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--endpoints", _farm.Servers[0].Address, "--metrics-port", "0"]);
        using var http = new HttpClient { Timeout = s_timeout };

        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(new Uri($"http://127.0.0.1:{server.MetricsPort}/metrics")));
        server.EnsureRunning();
    }

    private static double Sample(string page, string series)
    {
        var line = page.Split('\n').SingleOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        Assert.True(line is not null, $"no sample {series} in:\n{page}");
        return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }

    private Task MetricsSettledAsync() => _farm.WaitForScrapesAsync(3, TimeSpan.FromSeconds(20));
}
