using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Runtime.Benchmarks.Infrastructure;
using Runtime.BodyParsing;
using Runtime.ExtProc.Buffers;

namespace Runtime.Benchmarks.BodyParsing;

/// <summary>
/// Extracting <c>model</c> from a chat-completions body whose model is the LAST field (the
/// scanner must cross every message to find it), laid out as <see cref="BodyBuffer"/> holds a
/// body accumulated from GIE's 62,000 B chunks (1 KB: one segment; 220 KB: 16+32+64+128 KB
/// segments; 1 MB: six segments). Side by side, per size, with System.Text.Json's document parse
/// of the same sequence (the baseline of each size's Ratio). "GB/s" is body bytes / mean.
/// </summary>
[MemoryDiagnoser]
[MinColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
[Config(typeof(ThroughputConfig))]
public class ModelExtractionBenchmark
{
    private static readonly JsonFieldSet s_fields = new("model", "stream");

    private readonly JsonBodyScanner _scanner = new(s_fields);
    private readonly JsonBodyScanner _structureOnly = new(s_fields, validateUtf8: false);
    private readonly byte[] _model = new byte[256];
    private readonly BodyBuffer _small = new();
    private readonly BodyBuffer _medium = new();
    private readonly BodyBuffer _large = new();
    private ReadOnlySequence<byte> _body1K;
    private ReadOnlySequence<byte> _body220K;
    private ReadOnlySequence<byte> _body1M;

    /// <summary>Exact body sizes, by the suffix of the benchmark name (the throughput column reads them).</summary>
    internal static int BodySize(string method) =>
        method.EndsWith("1K", StringComparison.Ordinal) ? 1024
        : method.EndsWith("220K", StringComparison.Ordinal) ? 220 * 1024
        : 1024 * 1024;

    [GlobalSetup]
    public void Setup()
    {
        _body1K = Fill(_small, ChatBody(BodySize("1K")));
        _body220K = Fill(_medium, ChatBody(BodySize("220K")));
        _body1M = Fill(_large, ChatBody(BodySize("1M")));
        if (Scan1K() != Scan220K() || Scan1M() != JsonDocument1K().Length)
        {
            throw new InvalidOperationException("The scanner and JsonDocument disagree on the model.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _small.Reset();
        _medium.Reset();
        _large.Reset();
    }

    [Benchmark]
    [BenchmarkCategory("1 KB")]
    [AllocationBudget(0, Outcome = nameof(FoundModel))]
    public int Scan1K() => ExtractModel(_body1K);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("1 KB")]
    public string JsonDocument1K() => ParseModel(_body1K);

    [Benchmark]
    [BenchmarkCategory("220 KB")]
    [AllocationBudget(0, Outcome = nameof(FoundModel))]
    public int Scan220K() => ExtractModel(_body220K);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("220 KB")]
    public string JsonDocument220K() => ParseModel(_body220K);

    // Where a 220 KB scan's time goes: the structural pass alone, and the UTF-8 pass alone.
    [Benchmark]
    [BenchmarkCategory("220 KB")]
    public JsonBodyStatus Structure220K() => _structureOnly.Scan(_body220K);

    [Benchmark]
    [BenchmarkCategory("220 KB")]
    public bool Utf8Validation220K() => Utf8Validation.IsValid(_body220K);

    // Not budgeted: same code path as 220 KB, and the gate has to stay fast.
    [Benchmark]
    [BenchmarkCategory("1 MB")]
    public int Scan1M() => ExtractModel(_body1M);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("1 MB")]
    public string JsonDocument1M() => ParseModel(_body1M);

    private bool FoundModel(int written) => written == "meta-llama/Llama-3.1-8B-Instruct".Length;

    private int ExtractModel(in ReadOnlySequence<byte> body)
    {
        if (_scanner.Scan(body) != JsonBodyStatus.Ok || !_scanner.TryCopyString(0, _model, out var written))
        {
            return -1;
        }

        return written;
    }

    private static string ParseModel(in ReadOnlySequence<byte> body)
    {
        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("model"u8).GetString()!;
    }

    private static ReadOnlySequence<byte> Fill(BodyBuffer buffer, byte[] body)
    {
        for (var offset = 0; offset < body.Length; offset += 62_000)
        {
            buffer.Append(body.AsSpan(offset, Math.Min(62_000, body.Length - offset)));
        }

        return buffer.AsSequence();
    }

    /// <summary>An OpenAI chat body of exactly <paramref name="size"/> bytes: messages of prose with some escapes and non-ASCII, then stream, then model.</summary>
    private static byte[] ChatBody(int size)
    {
        const string tail = ""","stream":true,"model":"meta-llama/Llama-3.1-8B-Instruct"}""";
        var sb = new StringBuilder("""{"messages":[{"role":"system","content":"You are a helpful assistant."}""");
        var bytes = Encoding.UTF8.GetByteCount(sb.ToString());
        var turn = 0;
        while (bytes + tail.Length + 400 < size)
        {
            var message = ",{\"role\":\"" + (turn++ % 2 == 0 ? "user" : "assistant") + "\",\"content\":\""
                + "Summarise the following report in three bullet points.\\n\\tThe quarterly numbers (\\\"Q3\\\") show growth; café revenue rose. "
                + "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.\"}";
            sb.Append(message);
            bytes += Encoding.UTF8.GetByteCount(message);
        }

        // Pad the last message so the body is exactly the requested size.
        sb.Append(",{\"role\":\"user\",\"content\":\"");
        var pad = size - bytes - Encoding.UTF8.GetByteCount(",{\"role\":\"user\",\"content\":\"") - tail.Length - 3;
        sb.Append('x', Math.Max(0, pad)).Append("\"}]").Append(tail);
        var body = Encoding.UTF8.GetBytes(sb.ToString());
        return body.Length == size ? body : throw new InvalidOperationException($"Body is {body.Length} B, wanted {size} B.");
    }

    private sealed class ThroughputConfig : ManualConfig
    {
        public ThroughputConfig() => AddColumn(new ThroughputColumn());
    }

    /// <summary>Body bytes / mean time, in GB/s (10^9 bytes per second).</summary>
    private sealed class ThroughputColumn : IColumn
    {
        public string Id => nameof(ThroughputColumn);

        public string ColumnName => "GB/s";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "Body bytes divided by the mean time (10^9 B/s)";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
            return mean is > 0
                ? (BodySize(benchmarkCase.Descriptor.WorkloadMethod.Name) / mean.Value).ToString("0.00", CultureInfo.InvariantCulture)
                : "-";
        }

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(Summary summary) => true;
    }
}
