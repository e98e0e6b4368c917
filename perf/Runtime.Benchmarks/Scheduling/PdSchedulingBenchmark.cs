using System.Buffers;
using BenchmarkDotNet.Attributes;
using Runtime.Benchmarks.Infrastructure;
using Runtime.Endpoints;
using Runtime.Plugins;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling;
using Runtime.Scheduling.Disaggregation;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.Pickers;
using Runtime.Scheduling.Prefix;
using Runtime.Scheduling.Profiles;
using Runtime.Scheduling.Scorers;

namespace Runtime.Benchmarks.Scheduling;

/// <summary>
/// A prefill/decode pick over 100 endpoints (50 labelled <c>llm-d.ai/role=prefill</c>, 50 <c>decode</c>)
/// with llm-d's P/D config (each profile: role filter, prefix-cache-scorer 2, queue-scorer 1,
/// max-score-picker; one shared approx prefix producer), next to the single-profile pick with the same
/// scorers over the same 100 endpoints. <c>PdDisaggregated</c>: always-disagg decider, so every pick runs
/// both profiles, sets <c>x-prefiller-host-port</c> and records both endpoints in the prefix index.
/// <c>PdPrefixDeciderCached</c>: prefix-based decider (nonCachedTokens 16) on a prompt cached on a
/// decode endpoint, so the decider matches and declines. 4 KB prompts. Must stay at 0 B/op.
/// </summary>
[MemoryDiagnoser]
public class PdSchedulingBenchmark
{
    private const int Endpoints = 100;
    private readonly SchedulingResult _result = new();
    private readonly Runtime.Telemetry.Prometheus.PrometheusExporter _exporter = new();
    private readonly SchedulingRequest[] _rotating = new SchedulingRequest[64];
    private Scheduler _always = null!;
    private Scheduler _prefixBased = null!;
    private Scheduler _single = null!;
    private EndpointState[] _candidates = [];
    private SchedulingRequest _warm = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var store = new EndpointStore();
        store.Publish(Enumerable.Range(0, Endpoints).Select(i => new Endpoint(
            $"pod-{i:D3}", $"10.0.{i / 200}.{(i % 200) + 1}", 8000, new Dictionary<string, string> { ["llm-d.ai/role"] = i % 2 == 0 ? "prefill" : "decode" })));
        _candidates = store.Current.Endpoints;
        var random = new Random(1);
        foreach (var endpoint in _candidates)
        {
            endpoint.PublishMetrics(new EndpointMetrics { WaitingQueueSize = random.Next(10), KvCacheUsage = random.NextDouble(), UpdatedAtTimestamp = TimeProvider.System.GetTimestamp() });
        }

        _always = PdScheduler(new AlwaysDisaggPdDecider("always-disagg-pd-decider"));
        _prefixBased = PdScheduler(new PrefixBasedPdDecider("prefix-based-pd-decider", new PrefixBasedPdDeciderParameters { NonCachedTokens = 16 }));

        var producer = new ApproxPrefixCacheProducer("approx-prefix-cache-producer", new PrefixCacheScorerParameters(AutoTune: false));
        _single = new Scheduler(new SingleProfileHandler("single-profile-handler"), [Profile("default", null, producer)], [producer]);

        _warm = Request(Prompt(random, 4096));
        for (var i = 0; i < _rotating.Length; i++)
        {
            _rotating[i] = Request(Prompt(random, 4096));
        }

        for (var i = 0; i < 2000; i++)
        {
            PdDisaggregated();
            PdPrefixDeciderCached();
            SingleProfile();
        }
    }

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(Disaggregated))]
    public EndpointState PdDisaggregated()
    {
        _result.Reset();
        _always.Schedule(_rotating[_next++ & 63], _candidates, _result);
        return _result.Primary;
    }

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(DecodeOnly))]
    public EndpointState PdPrefixDeciderCached()
    {
        _result.Reset();
        _prefixBased.Schedule(_warm, _candidates, _result);
        return _result.Primary;
    }

    [Benchmark(Baseline = true)]
    [AllocationBudget(0, Outcome = nameof(Picked))]
    public EndpointState SingleProfile()
    {
        _result.Reset();
        _single.Schedule(_rotating[_next++ & 63], _candidates, _result);
        return _result.Primary;
    }

    [GlobalCleanup]
    public void Cleanup() => _exporter.Dispose();

    private bool Picked(EndpointState? primary) => primary is not null && _result.Primary == primary;

    private bool Disaggregated(EndpointState? primary) =>
        Picked(primary) && primary!.Endpoint.Labels["llm-d.ai/role"] == "decode" && _result.Prefill?.Endpoint.Labels["llm-d.ai/role"] == "prefill" && _result.Headers.Length == 1;

    private bool DecodeOnly(EndpointState? primary) => Picked(primary) && primary!.Endpoint.Labels["llm-d.ai/role"] == "decode" && _result.Prefill is null;

    private static Scheduler PdScheduler(IDisaggDecider decider)
    {
        var producer = new ApproxPrefixCacheProducer("approx-prefix-cache-producer", new PrefixCacheScorerParameters(AutoTune: false));
        var handler = new DisaggProfileHandler("disagg-profile-handler", "disagg-profile-handler", new DisaggSettings(DisaggStageOrder.DecodeFirst, "decode", "prefill", "encode", decider.Name, string.Empty, 0, false));
        var plugins = new Dictionary<string, IPlugin> { [handler.Name] = handler, [decider.Name] = decider, [producer.Name] = producer };
        var errors = new List<string>();
        var wiring = new SchedulerWiringContext(plugins, [producer], errors);
        handler.Wire(wiring);
        (decider as ISchedulerWiring)?.Wire(wiring);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join("; ", errors));
        }

        return new Scheduler(handler, [Profile("prefill", LabelValueFilter.Prefill("prefill-filter"), producer), Profile("decode", LabelValueFilter.Decode("decode-filter"), producer)], [producer]);
    }

    private static SchedulingProfile Profile(string name, IFilter? filter, ApproxPrefixCacheProducer producer)
    {
        var prefix = new PrefixCacheScorer("prefix-cache-scorer", new PrefixCacheScorerParameters(AutoTune: false));
        prefix.UseProducer(producer);
        return new SchedulingProfile(name, filter is null ? [] : [filter], [new(prefix, 2), new(new QueueScorer("queue-scorer"), 1)], new MaxScorePicker("max-score-picker"));
    }

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
