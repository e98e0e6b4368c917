using System.Net;
using System.Net.Sockets;
using Runtime.Endpoints;
using Runtime.ModelMetrics.Mapping;
using Runtime.ModelMetrics.Scraping;
using Runtime.TestSupport.ModelServers;

namespace Runtime.ModelMetrics.Tests.Scraping;

/// <summary>
/// Model servers that misbehave on /metrics in ways the other scraper tests do not cover: garbage,
/// a 50 MB page without Content-Length, a server that accepts and never answers, a flapping one.
/// Each failure is counted, the endpoint's metrics are not refreshed (so they go stale), and the
/// scraper stays within its time and memory budget.
/// </summary>
public sealed class ScraperFaultTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);

    private static MetricsScraperOptions Options(TimeSpan? timeout = null) => new()
    {
        Interval = TimeSpan.FromMilliseconds(20),
        Timeout = timeout ?? TimeSpan.FromSeconds(1),
    };

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + s_wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Scrape_GarbagePage_NoMetricsFailureAndMetricsNotRefreshed()
    {
        await using var server = await FakeMetricsServer.StartAsync(1, _ => ModelServerPages.Utf8(ModelServerPages.Vllm(waiting: 5)));
        var store = new EndpointStore();
        store.Publish([new Endpoint("pod", "127.0.0.1", server.Servers[0].Port)]);
        await using var scraper = new EndpointMetricsScraper(store, ModelServerMetricsMappings.BuiltIn, Options());
        scraper.Start();
        var state = store.Current.Endpoints[0];
        await Until(() => state.Metrics.WaitingQueueSize == 5, "first scrape");

        var garbage = new byte[256 * 1024];
        new Random(3).NextBytes(garbage);
        server.Servers[0].Page = garbage;
        await Until(() => scraper.Metrics.FailuresOf(ScrapeFailure.NoMetrics) >= 1, "a garbage page");
        var last = state.Metrics;
        await Until(() => scraper.Metrics.FailuresOf(ScrapeFailure.NoMetrics) >= 4, "more garbage pages");

        // Not republished: its age grows, so the picker sees it go stale.
        Assert.Same(last, state.Metrics);
        Assert.True(scraper.Metrics.MalformedLines > 0);
    }

    [Fact]
    public async Task Scrape_FiftyMegabytePageWithoutLength_CutAtTheCapWithoutBufferingIt()
    {
        var page = new byte[50 * 1024 * 1024];
        Array.Fill(page, (byte)'#');
        await using var server = await FakeMetricsServer.StartAsync(1, _ => page);
        server.Servers[0].Chunked = true;
        var store = new EndpointStore();
        store.Publish([new Endpoint("pod", "127.0.0.1", server.Servers[0].Port)]);
        await using var scraper = new EndpointMetricsScraper(store, ModelServerMetricsMappings.BuiltIn, Options(timeout: TimeSpan.FromSeconds(5)));
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        scraper.Start();

        await Until(() => scraper.Metrics.FailuresOf(ScrapeFailure.PageTooLarge) >= 5, "five oversized pages");

        // Five 50 MB pages read whole would allocate 250 MB; the cap (4 MB) bounds each.
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        Assert.True(allocated < 100L * 1024 * 1024, $"{allocated / (1024 * 1024)} MB allocated for five pages");
        Assert.Same(EndpointMetrics.None, store.Current.Endpoints[0].Metrics);
    }

    [Fact]
    public async Task Scrape_AcceptsAndNeverAnswers_OneScrapeAtATimeEachCutAtTheTimeout()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var held = new List<Socket>();
        var accepted = 0;
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var socket = await listener.AcceptSocketAsync();
                    Interlocked.Increment(ref accepted);
                    lock (held)
                    {
                        held.Add(socket);
                    }
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        });
        var store = new EndpointStore();
        store.Publish([new Endpoint("silent", "127.0.0.1", ((IPEndPoint)listener.LocalEndpoint).Port)]);
        var scraper = new EndpointMetricsScraper(store, ModelServerMetricsMappings.BuiltIn, Options(timeout: TimeSpan.FromMilliseconds(200)));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        scraper.Start();

        await Until(() => scraper.Metrics.FailuresOf(ScrapeFailure.Timeout) >= 5, "five timed-out scrapes");
        var elapsed = clock.Elapsed;
        await scraper.DisposeAsync();
        listener.Stop();
        lock (held)
        {
            held.ForEach(s => s.Dispose());
        }

        await accepting;

        // Five scrapes of 200 ms each, one after the other: at least a second, and no connection per tick.
        Assert.True(elapsed >= TimeSpan.FromMilliseconds(900), $"five timeouts in {elapsed}");
        Assert.InRange(Volatile.Read(ref accepted), 1, scraper.Metrics.Scrapes + 1);
        Assert.Same(EndpointMetrics.None, store.Current.Endpoints[0].Metrics);
    }

    [Fact]
    public async Task Scrape_FlappingServer_PublishesWhenUpKeepsLastWhenDown()
    {
        await using var server = await FakeMetricsServer.StartAsync(1, _ => ModelServerPages.Utf8(ModelServerPages.Vllm(waiting: 1)));
        var store = new EndpointStore();
        store.Publish([new Endpoint("flapper", "127.0.0.1", server.Servers[0].Port)]);
        await using var scraper = new EndpointMetricsScraper(store, ModelServerMetricsMappings.BuiltIn, Options(timeout: TimeSpan.FromMilliseconds(200)));
        scraper.Start();
        var state = store.Current.Endpoints[0];

        for (var round = 2; round <= 5; round++)
        {
            await Until(() => state.Metrics.WaitingQueueSize == round - 1, $"up, round {round}");
            var failures = scraper.Metrics.Failures;
            server.Servers[0].StatusCode = 503;
            server.Servers[0].Hang = round % 2 == 0; // down by error, then by silence
            await Until(() => scraper.Metrics.Failures >= failures + 2, $"down, round {round}");
            Assert.Equal(round - 1, state.Metrics.WaitingQueueSize);
            server.Servers[0].Page = ModelServerPages.Utf8(ModelServerPages.Vllm(waiting: round));
            server.Servers[0].Hang = false;
            server.Servers[0].StatusCode = 200;
        }

        await Until(() => state.Metrics.WaitingQueueSize == 5, "up at the end");
    }
}
