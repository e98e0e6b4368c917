using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Simulation;
using Runtime.TestSupport.ModelServers;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// Model servers misbehaving on <c>/metrics</c>, through the AOT binary: one that hangs, one that
/// sends a 50 MB page (with and without Content-Length), one that sends garbage, one that flaps
/// between a good page and errors, and one that accepts the connection and never says a word, next
/// to one healthy simulator. The scraper keeps each within its time budget (one scrape at a time,
/// cut at the timeout), never buffers a huge page, counts every failure, keeps scraping the healthy
/// one at its interval, and the picker sends nothing to the broken ones (their metrics are stale).
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class ModelServerFaultTests
{
    private const int FiftyMegabytes = 50 * 1024 * 1024;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task BrokenMetricsEndpoints_ScraperStaysInBudget_PicksAvoidThem()
    {
        await using var healthy = await SimulatorFarm.StartAsync(1, new SimulatorOptions());
        var big = new byte[FiftyMegabytes];
        Array.Fill(big, (byte)'#'); // a comment line that never ends
        var garbage = new byte[1024 * 1024];
        new Random(5).NextBytes(garbage);
        var good = ModelServerPages.Utf8(ModelServerPages.Vllm(waiting: 0));
        await using var broken = await FakeMetricsServer.StartAsync(5, i => i switch { 1 or 2 => big, 3 => garbage, _ => good });
        broken.Servers[0].Hang = true;
        broken.Servers[2].Chunked = true;
        using var silent = new SilentServer();
        var flapper = broken.Servers[4];

        string[] endpoints = [healthy[0].Address, .. broken.Servers.Select(s => $"127.0.0.1:{s.Port}"), $"127.0.0.1:{silent.Port}"];
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--endpoints", string.Join(",", endpoints)]); // default staleness (2 s): a loaded machine may scrape the healthy one only twice a second
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        using var http = new HttpClient();
        var baseline = Rss(server);

        // Let the scraper meet every fault for a while, the flapper switching every 300 ms.
        using var flapping = new CancellationTokenSource();
        var flaps = Task.Run(async () =>
        {
            for (var up = false; !flapping.IsCancellationRequested; up = !up)
            {
                flapper.StatusCode = up ? 200 : 500;
                await Task.Delay(300, CancellationToken.None);
            }
        });
        var peakRss = baseline;
        var hangBefore = broken.Servers[0].Requests;
        var silentBefore = silent.Accepted;
        var healthyBefore = healthy[0].MetricsRequests;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(6))
        {
            peakRss = Math.Max(peakRss, Rss(server));
            await Task.Delay(100);
        }

        var window = watch.Elapsed;
        var hangScrapes = broken.Servers[0].Requests - hangBefore;
        var silentConnections = silent.Accepted - silentBefore;
        var healthyScrapes = healthy[0].MetricsRequests - healthyBefore;

        // Picks: only the healthy simulator or, while its page is good, the flapper.
        var picked = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var result = (await client.RunFullDuplexAsync(new FullDuplexPhase
            {
                Headers = ExtProcMessages.FullDuplexRequestHeaders(),
                BodyChunks = [Encoding.UTF8.GetBytes($$"""{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"fault {{i}}"}]}""")],
            }, timeout: s_timeout)).EnsureValid();
            picked.Add(result.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders.Single(h => h.Header.Key == "x-gateway-destination-endpoint").Header.RawValue.ToStringUtf8());
        }

        await flapping.CancelAsync();
        await flaps;
        var page = await http.GetStringAsync(new Uri($"http://127.0.0.1:{server.MetricsPort}/metrics"));
        var diagnostics = $"{page}{Environment.NewLine}{server.Diagnostics}";

        Assert.True(picked.All(p => p == healthy[0].Address || p == $"127.0.0.1:{flapper.Port}"),
            $"picked [{string.Join(", ", picked)}]; healthy {healthy[0].Address}, broken (hang, 50 MB, 50 MB chunked, garbage, flapper) [{string.Join(", ", broken.Servers.Select(s => s.Port))}], silent {silent.Port}");
        // The hanging endpoint: one scrape at a time, each cut at the 1 s timeout: no pile-up.
        Assert.InRange(hangScrapes, 1, (int)Math.Ceiling(window.TotalSeconds) + 2);
        // The silent one likewise holds at most a connection or two, never one per tick.
        Assert.InRange(silentConnections, 1, (int)Math.Ceiling(window.TotalSeconds) + 2);
        // The healthy one keeps being scraped whatever the others do. Its 50 ms interval is 20/s on an idle
        // machine (2/s measured at load average 60); scrapes waiting behind the broken ones' 1 s timeouts would
        // give it one every few seconds, so at least one a second tells the two apart.
        Assert.True(healthyScrapes >= window.TotalSeconds, $"the healthy simulator was scraped {healthyScrapes} times in {window}");
        Assert.True(flapper.Requests >= 4, $"the flapper was scraped {flapper.Requests} times");
        // Two 50 MB pages served at every tick would take hundreds of MB if they were buffered.
        Assert.True(peakRss - baseline < 64, $"RSS went from {baseline:F0} to {peakRss:F0} MiB");
        Assert.True(FailureCount(page, "timeout") >= 2, diagnostics); // the hanging and the silent one
        Assert.True(FailureCount(page, "page_too_large") >= 2, diagnostics); // both 50 MB pages
        Assert.True(FailureCount(page, "http_status") >= 1, diagnostics); // the flapper's 500s
        Assert.True(Sample(page, "inference_extension_metrics_scrape_parse_errors_total") >= 1, diagnostics); // the garbage
        server.EnsureRunning();
    }

    private static double FailureCount(string page, string reason) =>
        Sample(page, $"inference_extension_metrics_scrape_failures_total{{reason=\"{reason}\"}}");

    private static double Sample(string page, string series) => page.Split('\n')
        .Where(l => l.StartsWith(series + " ", StringComparison.Ordinal))
        .Select(l => double.Parse(l[(series.Length + 1)..], CultureInfo.InvariantCulture))
        .DefaultIfEmpty(double.NaN).Single();

    private static double Rss(BinaryRuntimeServer server)
    {
        var line = File.ReadLines($"/proc/{server.Process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line[6..].Replace("kB", string.Empty, StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture) / 1024.0;
    }

    /// <summary>Accepts TCP connections and never reads or writes a byte; holds them until disposed.</summary>
    private sealed class SilentServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly List<Socket> _held = [];
        private readonly Task _accepting;
        private int _accepted;

        public SilentServer()
        {
            _listener.Start();
            _accepting = Task.Run(async () =>
            {
                try
                {
                    while (true)
                    {
                        var socket = await _listener.AcceptSocketAsync();
                        Interlocked.Increment(ref _accepted);
                        lock (_held)
                        {
                            _held.Add(socket);
                        }
                    }
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                }
            });
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Accepted => Volatile.Read(ref _accepted);

        public void Dispose()
        {
            _listener.Stop();
            lock (_held)
            {
                _held.ForEach(s => s.Dispose());
            }

            _accepting.Wait(TimeSpan.FromSeconds(5));
        }
    }
}
