using Microsoft.Extensions.Time.Testing;
using Runtime.Endpoints;
using Runtime.ModelMetrics.Mapping;
using Runtime.ModelMetrics.Scraping;
using Runtime.TestSupport.ModelServers;

namespace Runtime.ModelMetrics.Tests.Scraping;

public class EndpointMetricsScraperTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);

    private static MetricsScraperOptions Options(TimeSpan? timeout = null, int maxPageBytes = 4 * 1024 * 1024) => new()
    {
        Interval = TimeSpan.FromMilliseconds(20),
        Timeout = timeout ?? TimeSpan.FromSeconds(1),
        MaxPageBytes = maxPageBytes,
    };

    private static Endpoint[] Endpoints(FakeMetricsServer server) =>
        server.Servers.Select((s, i) => new Endpoint($"pod-{i}", "127.0.0.1", s.Port)).ToArray();

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + s_wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(10);
        }
    }

    /// <summary>
    /// Moves the fake clock one scrape interval at a time, <paramref name="ticks"/> times, giving the
    /// scrape loop a moment to run after each tick (the clock, not that pause, decides what is due).
    /// </summary>
    private static async Task Advance(FakeTimeProvider time, int ticks, TimeSpan? by = null)
    {
        for (var i = 0; i < ticks; i++)
        {
            time.Advance(by ?? Options().Interval);
            await Task.Delay(5);
        }
    }

    /// <summary>Ticks the fake clock until <paramref name="condition"/> holds (at most 400 ticks).</summary>
    private static async Task AdvanceUntil(FakeTimeProvider time, Func<bool> condition, string what)
    {
        for (var i = 0; i < 400 && !condition(); i++)
        {
            await Advance(time, 1);
        }

        Assert.True(condition(), $"{what} did not happen within 400 ticks");
    }

    [Fact]
    public async Task Start_ServedPages_PublishesMetricsAndFollowsUpdates()
    {
        await using var server = await FakeMetricsServer.StartAsync(3, i => ModelServerPages.Utf8(ModelServerPages.Vllm(waiting: i + 1)));
        var store = new EndpointStore();
        store.Publish(Endpoints(server));
        await using var scraper = new EndpointMetricsScraper(store, ModelServerMetricsMappings.BuiltIn, Options());
        scraper.Start();

        var states = store.Current.Endpoints;
        await Until(() => states.All(s => s.Metrics != EndpointMetrics.None), "first scrape of every endpoint");
        Assert.Equal([1, 2, 3], states.Select(s => s.Metrics.WaitingQueueSize));
        Assert.Equal(["sql-lora", "chat-lora"], states[0].Metrics.ActiveLoraAdapters);
        Assert.True(states[0].Metrics.Age(TimeProvider.System) < TimeSpan.FromSeconds(5));

        server.Servers[1].Page = ModelServerPages.Utf8(ModelServerPages.Vllm(waiting: 42, kvUsage: 0.9));
        await Until(() => states[1].Metrics.WaitingQueueSize == 42, "the updated page");
        Assert.Equal(0.9, states[1].Metrics.KvCacheUsage);
        Assert.Equal(0, scraper.Metrics.Failures);
        Assert.True(scraper.Metrics.Scrapes >= 4);
    }

    [Fact]
    public async Task Scrape_ServerErrors_KeepOldMetricsAndCountFailures()
    {
        await using var server = await FakeMetricsServer.StartAsync(1, _ => ModelServerPages.Utf8(ModelServerPages.Vllm(waiting: 5)));
        var store = new EndpointStore();
        store.Publish(Endpoints(server));
        await using var scraper = new EndpointMetricsScraper(store, ModelServerMetricsMappings.BuiltIn, Options());
        scraper.Start();
        var state = store.Current.Endpoints[0];
        await Until(() => state.Metrics.WaitingQueueSize == 5, "first scrape");

        // A scrape already in flight when the server turns to 500s may still publish; take the
        // reference once failures are being seen, then nothing may replace it.
        server.Servers[0].StatusCode = 500;
        await Until(() => scraper.Metrics.FailuresOf(ScrapeFailure.HttpStatus) >= 1, "a failed scrape");
        var good = state.Metrics;
        var failures = scraper.Metrics.FailuresOf(ScrapeFailure.HttpStatus);
        await Until(() => scraper.Metrics.FailuresOf(ScrapeFailure.HttpStatus) >= failures + 3, "more failed scrapes");
        Assert.Same(good, state.Metrics);
        Assert.Equal(5, good.WaitingQueueSize);

        server.Servers[0].StatusCode = 200;
        server.Servers[0].Page = ModelServerPages.Utf8(ModelServerPages.Vllm(waiting: 6));
        await Until(() => state.Metrics.WaitingQueueSize == 6, "recovery");
    }

    [Fact]
    public async Task Scrape_HangingServer_TimesOutAndKeepsOldMetrics()
    {
        await using var server = await FakeMetricsServer.StartAsync(1, _ => ModelServerPages.Utf8(ModelServerPages.Vllm(waiting: 5)));
        var store = new EndpointStore();
        store.Publish(Endpoints(server));
        var time = new FakeTimeProvider();
        await using var scraper = new EndpointMetricsScraper(store, ModelServerMetricsMappings.BuiltIn, Options(timeout: TimeSpan.FromMilliseconds(150)), time);
        scraper.Start();
        var state = store.Current.Endpoints[0];
        await AdvanceUntil(time, () => state.Metrics.WaitingQueueSize == 5, "first scrape");

        var good = state.Metrics;
        server.Servers[0].Hang = true;
        var requests = server.Servers[0].Requests;
        await Advance(time, 1);
        await Until(() => server.Servers[0].Requests == requests + 1, "the scrape that hangs");

        // One scrape at a time per endpoint: ticks within the 150 ms timeout start no second request.
        await Advance(time, 6);
        Assert.Equal(requests + 1, server.Servers[0].Requests);
        Assert.Equal(0, scraper.Metrics.FailuresOf(ScrapeFailure.Timeout));

        // The clock passes the timeout: the scrape fails, the old metrics stay, the next tick retries.
        await Advance(time, 2);
        await Until(() => scraper.Metrics.FailuresOf(ScrapeFailure.Timeout) == 1, "the timed-out scrape");
        Assert.Same(good, state.Metrics);

        server.Servers[0].Hang = false;
        server.Servers[0].Page = ModelServerPages.Utf8(ModelServerPages.Vllm(waiting: 8));
        await AdvanceUntil(time, () => state.Metrics.WaitingQueueSize == 8, "recovery after the hang");
    }

    [Fact]
    public async Task Reconcile_EndpointRemoved_StopsItsScrapesAndAddsNewOnes()
    {
        await using var server = await FakeMetricsServer.StartAsync(3, i => ModelServerPages.Utf8(ModelServerPages.Vllm(waiting: i)));
        var endpoints = Endpoints(server);
        var store = new EndpointStore();
        store.Publish(endpoints[..2]);
        var time = new FakeTimeProvider();
        await using var scraper = new EndpointMetricsScraper(store, ModelServerMetricsMappings.BuiltIn, Options(), time);
        scraper.Start();
        await AdvanceUntil(time, () => server.Servers[0].Requests >= 1 && server.Servers[1].Requests >= 1, "both scraped");
        Assert.Equal(0, server.Servers[2].Requests);

        store.Publish([endpoints[1], endpoints[2]]);
        var removedCount = server.Servers[0].Requests;
        await AdvanceUntil(time, () => server.Servers[2].Requests >= 5, "five scrapes of the new endpoint");

        // Five scrape rounds for the new endpoint, none for the removed one.
        Assert.Equal(removedCount, server.Servers[0].Requests);
        Assert.Equal(2, scraper.EndpointCount);
    }

    [Fact]
    public async Task Scrape_OversizedPage_FailsWithoutCrashing()
    {
        await using var server = await FakeMetricsServer.StartAsync(1, _ => ModelServerPages.Utf8(ModelServerPages.Vllm(waiting: 5, series: 100)));
        var store = new EndpointStore();
        store.Publish(Endpoints(server));
        await using var scraper = new EndpointMetricsScraper(store, ModelServerMetricsMappings.BuiltIn, Options(maxPageBytes: 64 * 1024));
        scraper.Start();
        var state = store.Current.Endpoints[0];
        await Until(() => state.Metrics.WaitingQueueSize == 5, "first scrape");

        server.Servers[0].Page = ModelServerPages.Utf8(ModelServerPages.Vllm(waiting: 9, series: 3000));
        Assert.True(server.Servers[0].Page.Length > 64 * 1024);
        await Until(() => scraper.Metrics.FailuresOf(ScrapeFailure.PageTooLarge) >= 2, "page-too-large failures");
        Assert.Equal(5, state.Metrics.WaitingQueueSize);
    }

    [Fact]
    public async Task Scrape_ConnectionRefused_CountsTransportFailure()
    {
        int port;
        await using (var closed = await FakeMetricsServer.StartAsync(1, _ => []))
        {
            port = closed.Servers[0].Port;
        }

        var store = new EndpointStore();
        store.Publish([new Endpoint("gone", "127.0.0.1", port)]);
        await using var scraper = new EndpointMetricsScraper(store, ModelServerMetricsMappings.BuiltIn, Options());
        scraper.Start();
        await Until(() => scraper.Metrics.FailuresOf(ScrapeFailure.Transport) >= 2, "transport failures");
        Assert.Same(EndpointMetrics.None, store.Current.Endpoints[0].Metrics);
    }

    [Fact]
    public async Task Scrape_MalformedLines_AreCounted()
    {
        await using var server = await FakeMetricsServer.StartAsync(1, _ => ModelServerPages.Utf8("vllm:num_requests_waiting 4\nthis is not a sample\nvllm:num_requests_running{ 1\n"));
        var store = new EndpointStore();
        store.Publish(Endpoints(server));
        await using var scraper = new EndpointMetricsScraper(store, ModelServerMetricsMappings.BuiltIn, Options());
        scraper.Start();
        await Until(() => scraper.Metrics.MalformedLines >= 4, "parse errors counted");
        Assert.Equal(4, store.Current.Endpoints[0].Metrics.WaitingQueueSize);
    }

    [Fact]
    public async Task StopAsync_StopsScraping()
    {
        await using var server = await FakeMetricsServer.StartAsync(1, _ => ModelServerPages.Utf8(ModelServerPages.Vllm()));
        var store = new EndpointStore();
        store.Publish(Endpoints(server));
        var time = new FakeTimeProvider();
        var scraper = new EndpointMetricsScraper(store, ModelServerMetricsMappings.BuiltIn, Options(), time);
        scraper.Start();
        await AdvanceUntil(time, () => server.Servers[0].Requests >= 2, "two scrapes");
        await scraper.DisposeAsync();
        var count = server.Servers[0].Requests;
        await Advance(time, 10);
        Assert.Equal(count, server.Servers[0].Requests);
    }
}
