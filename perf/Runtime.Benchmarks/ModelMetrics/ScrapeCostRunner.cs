using System.Diagnostics;
using System.Globalization;
using Runtime.Endpoints;
using Runtime.ModelMetrics.Mapping;
using Runtime.ModelMetrics.Scraping;
using Runtime.TestSupport.ModelServers;

namespace Runtime.Benchmarks.ModelMetrics;

/// <summary>
/// Measures what scraping costs (SPEC §9: the Go EPP burns ~7.5 cores scraping 100 pods every 50 ms).
/// <c>--scrape-cost N [seconds] [interval-ms]</c> starts a child process serving a 100-series vLLM page
/// on N loopback ports (<see cref="ServersSwitch"/>), scrapes them all with <see cref="EndpointMetricsScraper"/>
/// and reports this process's CPU time over wall time (cores) after a warm-up, with the child's CPU
/// shown apart: only the scraper's side is counted.
/// </summary>
internal static class ScrapeCostRunner
{
    public const string Switch = "--scrape-cost";
    public const string ServersSwitch = "--metrics-servers";

    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100;
        var seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 30;
        var interval = TimeSpan.FromMilliseconds(args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 50);

        using var child = Process.Start(new ProcessStartInfo(Environment.ProcessPath!, [ServersSwitch, count.ToString(CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        })!;
        var portsLine = await child.StandardOutput.ReadLineAsync().ConfigureAwait(false)
            ?? throw new InvalidOperationException("The metrics servers did not start.");
        var ports = portsLine.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();

        var store = new EndpointStore();
        store.Publish(ports.Select((port, i) => new Endpoint($"pod-{i}", "127.0.0.1", port)));
        await using var scraper = new EndpointMetricsScraper(store, ModelServerMetricsMappings.BuiltIn, new MetricsScraperOptions { Interval = interval });
        scraper.Start();

        await Task.Delay(TimeSpan.FromSeconds(5)).ConfigureAwait(false); // warm-up: connections, JIT tiering
        var self = Process.GetCurrentProcess();
        child.Refresh();
        var (cpu0, childCpu0, scrapes0, failures0) = (self.TotalProcessorTime, child.TotalProcessorTime, scraper.Metrics.Scrapes, scraper.Metrics.Failures);
        var wall = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(seconds)).ConfigureAwait(false);
        wall.Stop();
        self.Refresh();
        child.Refresh();
        var cpu = self.TotalProcessorTime - cpu0;
        var childCpu = child.TotalProcessorTime - childCpu0;
        var scrapes = scraper.Metrics.Scrapes - scrapes0;
        var failures = scraper.Metrics.Failures - failures0;
        var stale = store.Current.Endpoints.Count(s => s.Metrics.Age(TimeProvider.System) > TimeSpan.FromMilliseconds(200));

        await scraper.StopAsync().ConfigureAwait(false);
        child.StandardInput.Close();
        await child.WaitForExitAsync().ConfigureAwait(false);

        var w = wall.Elapsed.TotalSeconds;
        Console.WriteLine($"endpoints: {count}, interval: {interval.TotalMilliseconds} ms, measured: {w:F1} s");
        Console.WriteLine($"scrapes: {scrapes} ({scrapes / w:F0}/s, {scrapes / w / count * interval.TotalSeconds:P0} of the nominal rate), failures: {failures}, stale endpoints at end: {stale}");
        Console.WriteLine($"scraper CPU: {cpu.TotalSeconds:F2} s = {cpu.TotalSeconds / w:F3} cores ({cpu.TotalMilliseconds * 1000 / Math.Max(1, scrapes):F0} µs CPU per scrape)");
        Console.WriteLine($"servers' CPU (child process, not counted): {childCpu.TotalSeconds / w:F3} cores");
        return failures == 0 ? 0 : 1;
    }

    /// <summary>Child mode: serve the page on N ports, print the ports on one line, run until stdin closes.</summary>
    public static async Task<int> ServeAsync(string[] args)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100;
        var page = ModelServerPages.Utf8(ModelServerPages.Vllm(series: 100));
        await using var server = await FakeMetricsServer.StartAsync(count, _ => page).ConfigureAwait(false);
        Console.WriteLine(string.Join(' ', server.Servers.Select(s => s.Port)));
        await Console.In.ReadToEndAsync().ConfigureAwait(false);
        return 0;
    }
}
