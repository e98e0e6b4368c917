using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Runtime.Soak;

/// <summary>One row of the CSV: the server's footprint and the traffic of the last interval.</summary>
internal sealed record Sample(
    double ElapsedSeconds,
    double RssMiB,
    double GcHeapMiB,
    int Threads,
    int OpenFds,
    double PickP50Ms,
    double PickP99Ms,
    double ExchangeP50Ms,
    double ExchangeP99Ms,
    long Completed,
    long Failed,
    long Cancelled,
    long UpstreamUnavailable,
    int InFlight,
    string Events)
{
    public const string Header = "elapsed_s,rss_mib,gc_heap_mib,threads,open_fds,pick_p50_ms,pick_p99_ms,exchange_p50_ms,exchange_p99_ms,completed,failed,cancelled,upstream_unavailable,in_flight,events";

    public string ToCsv() => string.Create(CultureInfo.InvariantCulture,
        $"{ElapsedSeconds:F1},{RssMiB:F1},{GcHeapMiB:F1},{Threads},{OpenFds},{PickP50Ms:F2},{PickP99Ms:F2},{ExchangeP50Ms:F1},{ExchangeP99Ms:F1},{Completed},{Failed},{Cancelled},{UpstreamUnavailable},{InFlight},{Events}");
}

/// <summary>
/// Reads the runtime's RSS, threads and open file descriptors from <c>/proc/PID</c> and its GC heap
/// from its <c>/metrics</c> (<c>dotnet_gc_heap_size_bytes</c>), and turns the exchanges finished
/// since the last sample into percentiles.
/// </summary>
internal sealed class Sampler(int pid, Uri metrics, HttpClient http)
{
    private readonly ConcurrentQueue<ExchangeResult> _finished = new();
    private readonly ConcurrentQueue<string> _events = new();
    private long _completed, _failed, _cancelled, _upstream;

    public long Completed => Interlocked.Read(ref _completed);

    public long Failed => Interlocked.Read(ref _failed);

    public long Cancelled => Interlocked.Read(ref _cancelled);

    public long UpstreamUnavailable => Interlocked.Read(ref _upstream);

    /// <summary>Every pick latency of completed exchanges, for the whole-run percentiles.</summary>
    public List<double> AllPicks { get; } = [];

    public void Record(ExchangeResult result)
    {
        switch (result.Outcome)
        {
            case Outcome.Completed: Interlocked.Increment(ref _completed); break;
            case Outcome.Failed: Interlocked.Increment(ref _failed); break;
            case Outcome.Cancelled: Interlocked.Increment(ref _cancelled); break;
            default: Interlocked.Increment(ref _upstream); break;
        }

        _finished.Enqueue(result);
    }

    /// <summary>Marks something that happened (a restart, the config change) on the next row.</summary>
    public void Event(string text) => _events.Enqueue(text);

    public async Task<Sample> TakeAsync(double elapsedSeconds, int inFlight, CancellationToken cancellationToken)
    {
        var picks = new List<double>();
        var totals = new List<double>();
        while (_finished.TryDequeue(out var result))
        {
            if (result.Outcome == Outcome.Completed)
            {
                picks.Add(result.PickMilliseconds);
                totals.Add(result.TotalMilliseconds);
            }
        }

        AllPicks.AddRange(picks);
        var events = new StringBuilder();
        while (_events.TryDequeue(out var text))
        {
            events.Append(events.Length > 0 ? "; " : string.Empty).Append(text);
        }

        var status = ReadStatus();
        return new Sample(
            elapsedSeconds,
            status.RssKiB / 1024.0,
            await GcHeapBytesAsync(cancellationToken) / (1024.0 * 1024.0),
            status.Threads,
            CountFds(),
            Percentile(picks, 0.50), Percentile(picks, 0.99),
            Percentile(totals, 0.50), Percentile(totals, 0.99),
            Completed, Failed, Cancelled, UpstreamUnavailable, inFlight,
            events.ToString().Replace(',', ' '));
    }

    public static double Percentile(List<double> values, double quantile)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        values.Sort();
        return values[Math.Min(values.Count - 1, (int)Math.Ceiling(quantile * values.Count) - 1)];
    }

    private (long RssKiB, int Threads) ReadStatus()
    {
        long rss = 0;
        var threads = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = long.Parse(line["VmRSS:".Length..].Replace("kB", string.Empty, StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                threads = int.Parse(line["Threads:".Length..].Trim(), CultureInfo.InvariantCulture);
            }
        }

        return (rss, threads);
    }

    private int CountFds() => Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count();

    private async Task<double> GcHeapBytesAsync(CancellationToken cancellationToken)
    {
        try
        {
            var page = await http.GetStringAsync(metrics, cancellationToken);
            foreach (var line in page.Split('\n'))
            {
                if (line.StartsWith("dotnet_gc_heap_size_bytes ", StringComparison.Ordinal))
                {
                    return double.Parse(line["dotnet_gc_heap_size_bytes ".Length..], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (HttpRequestException)
        {
        }

        return double.NaN;
    }
}
