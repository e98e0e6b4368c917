using System.IO.Hashing;
using System.Buffers;
using BenchmarkDotNet.Attributes;
using Runtime.Benchmarks.Infrastructure;
using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling;
using Runtime.Scheduling.Pickers;
using Runtime.Scheduling.Prefix;
using Runtime.Scheduling.Profiles;
using Runtime.Scheduling.Scorers;

namespace Runtime.Benchmarks.Scheduling;

/// <summary>
/// One pick over 100 endpoints with GIE's default profile (queue-scorer 2, kv-cache-utilization-scorer
/// 2, prefix-cache-scorer 3, max-score-picker) on a 4 KB prompt (64 prefix blocks), including the
/// prefix index update after the pick. <c>WarmPrompt</c>: the prompt is cached on 3 endpoints, so
/// scoring walks all 64 blocks on those; <c>ColdPrompts</c>: 64 rotating prompts, each cached on one
/// endpoint. The Prometheus exporter listens, as in the binary, so the per-plugin duration and
/// prefix-index metrics are recorded too. Must stay at 0 B/op.
/// </summary>
[MemoryDiagnoser]
public class SchedulingBenchmark
{
    private const int Endpoints = 100;
    private readonly SchedulingResult _result = new();
    private readonly Runtime.Telemetry.Prometheus.PrometheusExporter _exporter = new();
    private readonly SchedulingRequest[] _rotating = new SchedulingRequest[64];
    private Scheduler _scheduler = null!;
    private EndpointState[] _candidates = [];
    private SchedulingRequest _warm = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var store = new EndpointStore();
        store.Publish(Enumerable.Range(0, Endpoints).Select(i => new Endpoint($"pod-{i:D3}", $"10.0.{i / 200}.{(i % 200) + 1}", 8000)));
        _candidates = store.Current.Endpoints;
        var random = new Random(1);
        foreach (var endpoint in _candidates)
        {
            endpoint.PublishMetrics(new EndpointMetrics { WaitingQueueSize = random.Next(10), KvCacheUsage = random.NextDouble(), UpdatedAtTimestamp = TimeProvider.System.GetTimestamp() });
        }

        var prefix = new PrefixCacheScorer("prefix-cache-scorer", new PrefixCacheScorerParameters());
        var profile = new SchedulingProfile(
            "default",
            [],
            [new(new QueueScorer("queue-scorer"), 2), new(new KvCacheUtilizationScorer("kv-cache-utilization-scorer"), 2), new(prefix, 3)],
            new MaxScorePicker("max-score-picker"));
        _scheduler = new Scheduler(new SingleProfileHandler("single-profile-handler"), [profile]);

        _warm = Request(Prompt(random, 4096));
        for (var i = 0; i < _rotating.Length; i++)
        {
            _rotating[i] = Request(Prompt(random, 4096));
        }

        // Warm-up: the prompts land in the index and every buffer reaches its steady size.
        for (var i = 0; i < 3; i++)
        {
            _result.Reset();
            _scheduler.Schedule(_warm, _candidates.AsSpan(i * 30, 1), _result);
        }

        for (var i = 0; i < 2000; i++)
        {
            PickWarm();
            PickCold();
        }
    }

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(Picked))]
    public EndpointState PickWarm()
    {
        _result.Reset();
        _scheduler.Schedule(_warm, _candidates, _result);
        return _result.Primary;
    }

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(Picked))]
    public EndpointState PickCold()
    {
        _result.Reset();
        _scheduler.Schedule(_rotating[_next++ & 63], _candidates, _result);
        return _result.Primary;
    }

    [GlobalCleanup]
    public void Cleanup() => _exporter.Dispose();

    private bool Picked(EndpointState? primary) => primary is not null && _result.Primary == primary;

    private static SchedulingRequest Request(byte[] prompt) => new() { TargetModel = "meta-llama/Llama-3.1-8B-Instruct", Prompt = new ReadOnlySequence<byte>(prompt) };

    private static byte[] Prompt(Random random, int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)('a' + random.Next(26));
        }

        return bytes;
    }
}

/// <summary>xxhash64 throughput on a 4 KB buffer and on one 72-byte prefix block (64 bytes + the chained hash).</summary>
[MemoryDiagnoser]
public class XxHash64Benchmark
{
    private readonly byte[] _four = new byte[4096];
    private readonly byte[] _block = new byte[72];

    [GlobalSetup]
    public void Setup()
    {
        new Random(2).NextBytes(_four);
        new Random(3).NextBytes(_block);
    }

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(HashedAll))]
    public ulong Hash4K() => XxHash64.HashToUInt64(_four);

    [Benchmark]
    public ulong HashBlock72() => XxHash64.HashToUInt64(_block);

    private bool HashedAll(ulong hash) => hash == XxHash64.HashToUInt64(_four) && hash != XxHash64.HashToUInt64(_four.AsSpan(1));
}
