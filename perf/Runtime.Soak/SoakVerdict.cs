using System.Globalization;
using System.Text;

namespace Runtime.Soak;

/// <summary>
/// The mix of one soak: 70% short prompts, 20% long prompts of <c>--size</c> bytes sharing one of
/// 32 long prefixes (so the prefix index keeps learning and must stay bounded), 10% abandoned at
/// one of three points; 70% of requests ask for SSE.
/// </summary>
internal sealed class TrafficMix(int longPromptBytes)
{
    private const string Model = "meta-llama/Llama-3.1-8B-Instruct";
    private readonly Random _random = new(17);
    private readonly Lock _lock = new();
    private long _sequence;

    public ExchangePlan Next()
    {
        lock (_lock)
        {
            var n = ++_sequence;
            var roll = _random.Next(100);
            var stream = _random.Next(100) < 70;
            var maxTokens = _random.Next(4, 48);
            var cancel = roll < 90 ? CancelPoint.None : (CancelPoint)(1 + (roll % 3));
            var prompt = roll < 70
                ? $"question {n}: what is {n % 97} times {n % 89}?"
                : LongPrompt(n);
            var body = $$"""{"model":"{{Model}}","messages":[{"role":"user","content":"{{prompt}}"}],"max_tokens":{{maxTokens}},"stream":{{(stream ? "true" : "false")}}}""";
            return new ExchangePlan(Encoding.UTF8.GetBytes(body), stream, cancel);
        }
    }

    private string LongPrompt(long n)
    {
        var family = n % 32;
        var text = new StringBuilder(longPromptBytes);
        text.Append(CultureInfo.InvariantCulture, $"shared context {family}: ");
        while (text.Length < longPromptBytes - 40)
        {
            text.Append(CultureInfo.InvariantCulture, $"paragraph {family} line {text.Length} of the long document. ");
        }

        return text.Append(CultureInfo.InvariantCulture, $" question {n}?").ToString();
    }
}

/// <summary>Pass or fail, and the one summary line.</summary>
internal sealed class SoakVerdict
{
    private const double AllowedGrowth = 0.10;
    private readonly List<Sample> _samples;

    public SoakVerdict(List<Sample> samples, Sampler sampler, (long Completed, long Failed, long Cancelled, long Upstream) baseline, long warmupFailed, long skipped, bool runtimeExited)
    {
        _samples = samples;
        Baseline = baseline;
        if (runtimeExited)
        {
            Problems.Add("the runtime exited during the run");
        }

        if (sampler.Failed > 0)
        {
            Problems.Add($"{sampler.Failed} failed exchange(s) ({warmupFailed} in the warm-up; see failures.log)");
        }

        if (skipped > 0)
        {
            Problems.Add($"{skipped} exchange(s) not started: over 1024 in flight (the runtime or the driver cannot keep up)");
        }

        if (samples.Count < 4)
        {
            Problems.Add($"only {samples.Count} samples; run longer or sample more often");
            return;
        }

        Rss = Growth(s => s.RssMiB, "RSS");
        Fds = Growth(s => s.OpenFds, "open FDs");
        Threads = Growth(s => s.Threads, "threads");
        Heap = (Median(First.Select(s => s.GcHeapMiB)), Median(Last.Select(s => s.GcHeapMiB)));
    }

    public List<string> Problems { get; } = [];

    public (long Completed, long Failed, long Cancelled, long Upstream) Baseline { get; }

    private (double First, double Last) Rss { get; }

    private (double First, double Last) Fds { get; }

    private (double First, double Last) Threads { get; }

    private (double First, double Last) Heap { get; }

    private IEnumerable<Sample> First => _samples.Take(Math.Max(1, _samples.Count / 4));

    private IEnumerable<Sample> Last => _samples.Skip(_samples.Count - Math.Max(1, _samples.Count / 4));

    public string SummaryLine(SoakOptions options, Sampler sampler)
    {
        var picks = sampler.AllPicks;
        var maxRss = _samples.Count == 0 ? double.NaN : _samples.Max(s => s.RssMiB);
        return string.Concat(
            FormattableString.Invariant($"soak: {(Problems.Count == 0 ? "PASS" : "FAIL")} {options.Minutes:0.#} min at {options.Rate:0.#}/s: "),
            FormattableString.Invariant($"{sampler.Completed - Baseline.Completed} completed, {sampler.Failed} failed, {sampler.Cancelled - Baseline.Cancelled} cancelled, "),
            FormattableString.Invariant($"{sampler.UpstreamUnavailable - Baseline.Upstream} upstream-down; pick p50 {Sampler.Percentile(picks, 0.5):F1} ms p99 {Sampler.Percentile(picks, 0.99):F1} ms; "),
            FormattableString.Invariant($"RSS {Rss.First:F0}->{Rss.Last:F0} MiB ({Percent(Rss)}, max {maxRss:F0}), GC heap {Heap.First:F0}->{Heap.Last:F0} MiB, "),
            FormattableString.Invariant($"FDs {Fds.First:F0}->{Fds.Last:F0} ({Percent(Fds)}), threads {Threads.First:F0}->{Threads.Last:F0} ({Percent(Threads)}) (first->last quarter medians)"),
            Problems.Count == 0 ? string.Empty : " | " + string.Join("; ", Problems));
    }

    private (double First, double Last) Growth(Func<Sample, double> value, string what)
    {
        var first = Median(First.Select(value));
        var last = Median(Last.Select(value));
        if (last > first * (1 + AllowedGrowth))
        {
            Problems.Add(string.Create(CultureInfo.InvariantCulture, $"{what} grew {(last / first) - 1:P0} (median {first:F1} -> {last:F1}; at most {AllowedGrowth:P0})"));
        }

        return (first, last);
    }

    private static string Percent((double First, double Last) pair) =>
        string.Create(CultureInfo.InvariantCulture, $"{((pair.Last / pair.First) - 1) * 100:+0.0;-0.0;0.0}%");

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
