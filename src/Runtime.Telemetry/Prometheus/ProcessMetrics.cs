using System.Diagnostics;
using System.Globalization;

namespace Runtime.Telemetry.Prometheus;

/// <summary>
/// The process families the Go binaries expose through the Prometheus client's process collector
/// (<c>process_resident_memory_bytes</c>, <c>process_open_fds</c>, ...), plus the .NET runtime's own
/// (<c>dotnet_gc_heap_size_bytes</c>, <c>dotnet_collection_count_total</c>, ...) in place of Go's
/// <c>go_*</c>: what a soak or a dashboard watches for leaks. Read at scrape time from
/// <c>/proc/self</c> (Linux) and the GC; nothing runs between scrapes.
/// </summary>
internal static class ProcessMetrics
{
    /// <summary>Registers the families; dispose the result to remove them.</summary>
    public static IDisposable Register(PrometheusExporter exporter)
    {
        ArgumentNullException.ThrowIfNull(exporter);
        var startSeconds = StartTimeSeconds();
        IDisposable[] registrations =
        [
            exporter.AddCollector("process_resident_memory_bytes", "Resident memory size in bytes.", PrometheusMetricType.Gauge,
                static w => w.Add(ResidentBytes())),
            exporter.AddCollector("process_virtual_memory_bytes", "Virtual memory size in bytes.", PrometheusMetricType.Gauge,
                static w => w.Add(VirtualBytes())),
            exporter.AddCollector("process_open_fds", "Number of open file descriptors.", PrometheusMetricType.Gauge,
                static w => w.Add(OpenFileDescriptors())),
            exporter.AddCollector("process_max_fds", "Maximum number of open file descriptors.", PrometheusMetricType.Gauge,
                static w => w.Add(MaxFileDescriptors())),
            exporter.AddCollector("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", PrometheusMetricType.Counter,
                static w => w.Add(Environment.CpuUsage.TotalTime.TotalSeconds)),
            exporter.AddCollector("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", PrometheusMetricType.Gauge,
                w => w.Add(startSeconds)),
            exporter.AddCollector("process_threads", "Number of OS threads of the process.", PrometheusMetricType.Gauge,
                static w => w.Add(Threads())),
            exporter.AddCollector("dotnet_gc_heap_size_bytes", "Managed heap size after the last garbage collection, in bytes (fragmentation included).", PrometheusMetricType.Gauge,
                static w => w.Add(GC.GetGCMemoryInfo().HeapSizeBytes)),
            exporter.AddCollector("dotnet_gc_committed_bytes", "Memory committed by the garbage collector, in bytes.", PrometheusMetricType.Gauge,
                static w => w.Add(GC.GetGCMemoryInfo().TotalCommittedBytes)),
            exporter.AddCollector("dotnet_gc_allocated_bytes_total", "Bytes allocated on the managed heap since the process started.", PrometheusMetricType.Counter,
                static w => w.Add(GC.GetTotalAllocatedBytes())),
            exporter.AddCollector("dotnet_collection_count_total", "Garbage collections since the process started, by generation.", PrometheusMetricType.Counter,
                static w =>
                {
                    for (var generation = 0; generation <= GC.MaxGeneration; generation++)
                    {
                        w.Add("generation", generation.ToString(CultureInfo.InvariantCulture), GC.CollectionCount(generation));
                    }
                }),
        ];
        return new Registrations(registrations);
    }

    internal static double ResidentBytes() => StatmField(1) is { } pages ? pages * Environment.SystemPageSize : Environment.WorkingSet;

    internal static double VirtualBytes() => StatmField(0) is { } pages ? pages * Environment.SystemPageSize : Process.GetCurrentProcess().VirtualMemorySize64;

    internal static double OpenFileDescriptors()
    {
        try
        {
            return Directory.EnumerateFileSystemEntries("/proc/self/fd").Count();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return double.NaN;
        }
    }

    internal static double Threads()
    {
        var value = StatusField("Threads:");
        return value ?? Process.GetCurrentProcess().Threads.Count;
    }

    private static double MaxFileDescriptors()
    {
        // "Max open files            1048576              1048576              files"
        foreach (var line in ReadLines("/proc/self/limits"))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return fields.Length > 0 && double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var soft) ? soft : double.PositiveInfinity;
            }
        }

        return double.NaN;
    }

    private static double StartTimeSeconds()
    {
        using var self = Process.GetCurrentProcess();
        return new DateTimeOffset(self.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0;
    }

    private static double? StatmField(int index)
    {
        // /proc/self/statm: size resident shared text lib data dt, in pages.
        var line = ReadLines("/proc/self/statm").FirstOrDefault();
        var fields = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields is not null && fields.Length > index && double.TryParse(fields[index], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    private static double? StatusField(string name)
    {
        foreach (var line in ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(name, StringComparison.Ordinal)
                && double.TryParse(line.AsSpan(name.Length).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }

        return null;
    }

    private static string[] ReadLines(string path)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private sealed class Registrations(IDisposable[] registrations) : IDisposable
    {
        public void Dispose()
        {
            foreach (var registration in registrations)
            {
                registration.Dispose();
            }
        }
    }
}
