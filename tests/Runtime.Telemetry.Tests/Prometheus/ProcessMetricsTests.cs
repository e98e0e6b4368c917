using System.Globalization;
using Runtime.Telemetry.Prometheus;

namespace Runtime.Telemetry.Tests.Prometheus;

public sealed class ProcessMetricsTests
{
    private static Dictionary<string, double> Samples(string page) => page
        .Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Where(l => !l.StartsWith('#'))
        .Select(l => l.Split(' '))
        .ToDictionary(f => f[0], f => double.Parse(f[1], CultureInfo.InvariantCulture));

    [Fact]
    public void Render_ProcessAndGcFamilies_ReflectThisProcess()
    {
        using var exporter = new PrometheusExporter(new PrometheusExporterOptions { MeterFilter = _ => false });
        using var registration = ProcessMetrics.Register(exporter);
        GC.Collect();

        var page = exporter.Render();
        var samples = Samples(page);

        Assert.Contains("# TYPE process_resident_memory_bytes gauge\n", page, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_collection_count_total counter\n", page, StringComparison.Ordinal);
        // A test host is tens of MB resident and has a few threads and open files (its assemblies, stdio).
        Assert.InRange(samples["process_resident_memory_bytes"], 10e6, 64e9);
        Assert.True(samples["process_virtual_memory_bytes"] >= samples["process_resident_memory_bytes"]);
        Assert.InRange(samples["process_open_fds"], 3, samples["process_max_fds"]);
        Assert.InRange(samples["process_threads"], 2, 10_000);
        Assert.True(samples["process_cpu_seconds_total"] > 0);
        Assert.InRange(samples["process_start_time_seconds"], DateTimeOffset.UtcNow.AddDays(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        Assert.True(samples["dotnet_gc_heap_size_bytes"] > 0);
        Assert.True(samples["dotnet_gc_committed_bytes"] > 0);
        Assert.True(samples["dotnet_gc_allocated_bytes_total"] > 0);
        Assert.True(samples["dotnet_collection_count_total{generation=\"2\"}"] >= 1);
    }

    [Fact]
    public void Render_OpenFileDescriptors_FollowsFilesOpenedAndClosed()
    {
        var before = ProcessMetrics.OpenFileDescriptors();
        var files = Enumerable.Range(0, 20).Select(_ => File.OpenRead(typeof(ProcessMetricsTests).Assembly.Location)).ToList();
        var opened = ProcessMetrics.OpenFileDescriptors();
        files.ForEach(f => f.Dispose());

        // Other test threads may open files too; twenty of ours must show.
        Assert.True(opened - before >= 15, $"{before} -> {opened}");
    }

    [Fact]
    public void Dispose_RemovesTheFamilies()
    {
        using var exporter = new PrometheusExporter(new PrometheusExporterOptions { MeterFilter = _ => false });
        ProcessMetrics.Register(exporter).Dispose();

        Assert.DoesNotContain("process_", exporter.Render(), StringComparison.Ordinal);
    }
}
