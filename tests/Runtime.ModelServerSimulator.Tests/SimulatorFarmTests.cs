using System.Net;
using Runtime.Simulation.Tests.Support;
using static Runtime.Simulation.Tests.Support.SimulatorHttp;

namespace Runtime.Simulation.Tests;

public sealed class SimulatorFarmTests
{
    [Fact]
    public async Task StartAsync_HundredServers_EachPortAnswersAsItself()
    {
        await using var farm = await SimulatorFarm.StartAsync(100, new SimulatorOptions { MetricsSeries = 100 });
        using var client = new HttpClient();

        Assert.Equal(100, farm.Count);
        Assert.Equal(100, farm.Servers.Select(s => s.Port).Distinct().Count());
        foreach (var server in farm.Servers)
        {
            using var response = await client.GetAsync(new Uri(server.BaseAddress, "/metrics"));
            Assert.Equal(server.Name, Assert.Single(response.Headers.GetValues("x-simulator-id")));
            Assert.Equal(100, PrometheusText.Parse(await response.Content.ReadAsStringAsync()).Samples.Count);
        }

        Assert.All(farm.Servers, s => Assert.Equal(1, s.MetricsRequests));
    }

    [Fact]
    public async Task StartAsync_OverrideOneServer_OthersUnaffected()
    {
        await using var farm = await SimulatorFarm.StartAsync(3, new SimulatorOptions { Name = "pod" });
        using var client = new HttpClient();

        farm[1].Overrides = new MetricsOverrides { Waiting = 5 };
        var waiting = new List<double>();
        foreach (var server in farm.Servers)
        {
            var page = PrometheusText.Parse(await client.GetStringAsync(new Uri(server.BaseAddress, "/metrics")));
            waiting.Add(page.Value("vllm:num_requests_waiting"));
        }

        Assert.Equal(["pod-0", "pod-1", "pod-2"], farm.Servers.Select(s => s.Name));
        Assert.Equal([0.0, 5.0, 0.0], waiting);
    }

    [Fact]
    public async Task StopAsync_OneServer_OthersKeepServing()
    {
        await using var farm = await SimulatorFarm.StartAsync(3, new SimulatorOptions());
        using var client = new HttpClient();
        (await client.GetAsync(new Uri(farm[1].BaseAddress, "/metrics"))).Dispose();

        await farm[1].StopAsync();

        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(new Uri(farm[1].BaseAddress, "/metrics")));
        foreach (var server in new[] { farm[0], farm[2] })
        {
            using var response = await client.GetAsync(new Uri(server.BaseAddress, "/metrics"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task StartAsync_FixedConsecutivePorts_Bound()
    {
        var first = FreePortRun(3);
        await using var farm = await SimulatorFarm.StartAsync(3, new SimulatorOptions { Port = first });

        Assert.Equal([first, first + 1, first + 2], farm.Servers.Select(s => s.Port));
    }

    [Fact]
    public async Task StartAsync_PortTaken_ThrowsAndReleasesOtherPorts()
    {
        await using var taken = await ModelServerSimulator.StartAsync();

        await Assert.ThrowsAnyAsync<IOException>(() =>
            SimulatorFarm.StartAsync([new SimulatorOptions(), new SimulatorOptions { Port = taken.Port }]));
    }

    [Fact]
    public async Task DisposeAsync_HangingScrape_DoesNotWaitForIt()
    {
        var farm = await SimulatorFarm.StartAsync(1, new SimulatorOptions());
        farm[0].HangMetrics = true;
        using var client = new HttpClient();
        var scrape = client.GetAsync(new Uri(farm[0].BaseAddress, "/metrics"));
        await Task.Delay(100);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await farm.DisposeAsync();

        // Without cutting it off, Kestrel would wait for the hung request until its 5 s shutdown timeout.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"dispose took {clock.Elapsed}");
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => scrape);
    }

    /// <summary>A run of free consecutive ports (best effort: probes each, then trusts them).</summary>
    private static int FreePortRun(int length)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var first = Random.Shared.Next(20000, 60000);
            if (Enumerable.Range(first, length).All(IsFree))
            {
                return first;
            }
        }

        throw new InvalidOperationException("No run of free ports found.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}
