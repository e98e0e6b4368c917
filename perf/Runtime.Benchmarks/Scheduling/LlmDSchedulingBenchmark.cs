using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Runtime.Benchmarks.Infrastructure;
using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.LlmD;
using Runtime.Scheduling.Pickers;
using Runtime.Scheduling.Profiles;

namespace Runtime.Benchmarks.Scheduling;

/// <summary>
/// One pick over 100 endpoints with llm-d v0.10's scorers and filters: endpoint-attribute-filter and
/// -scorer over a DCGM GPU attribute, context-length-aware (as filter and scorer), active-request,
/// load-aware, no-hit-lru and session-affinity (token header), max-score-picker, then the pre-request
/// hooks. <c>PickWithSessionToken</c>: a pinned session on a 4 KB prompt; <c>PickCold</c>: 64 rotating
/// prompts, each cold, so no-hit-lru ranks by recency and records the pick; <c>PickBoundSessionId</c>:
/// the session_id strategy with a bound session. Must stay at 0 B/op.
/// </summary>
[MemoryDiagnoser]
public class LlmDSchedulingBenchmark
{
    private const int Endpoints = 100;
    private readonly SchedulingResult _result = new();
    private readonly SchedulingRequest[] _cold = new SchedulingRequest[64];
    private Scheduler _scheduler = null!;
    private Scheduler _sessionIds = null!;
    private EndpointState[] _candidates = [];
    private SchedulingRequest _pinned = null!;
    private SchedulingRequest _bound = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var store = new EndpointStore();
        var labels = new Dictionary<string, string> { [ContextLengthAwareParameters.DefaultLabel] = "0-32768" };
        store.Publish(Enumerable.Range(0, Endpoints).Select(i => new Endpoint($"pod-{i:D3}-rank-0", $"10.0.{i / 200}.{(i % 200) + 1}", 8000, labels)));
        _candidates = store.Current.Endpoints;
        var random = new Random(1);
        foreach (var endpoint in _candidates)
        {
            endpoint.PublishMetrics(new EndpointMetrics { WaitingQueueSize = random.Next(10), KvCacheUsage = random.NextDouble(), UpdatedAtTimestamp = TimeProvider.System.GetTimestamp() });
            endpoint.Attributes.Set(BuiltInPlugins.GpuUtilizationAttribute, random.NextDouble());
            endpoint.AddInFlight(random.Next(5));
        }

        var gpuFilter = new EndpointAttributeFilter("gpu-filter", new EndpointAttributeFilterParameters
        {
            Attribute = BuiltInPlugins.GpuUtilizationAttribute,
            FallbackOnEmpty = true,
            Algorithm = new AttributeFilterAlgorithm { Type = "threshold", Threshold = new AttributeThreshold { Operator = "LessThanOrEqual", Value = 0.95 } },
        });
        var gpuScorer = new EndpointAttributeScorer("gpu-scorer", new EndpointAttributeScorerParameters
        {
            AttributeKey = BuiltInPlugins.GpuUtilizationAttribute,
            Algorithm = new AttributeScorerAlgorithm { Type = EndpointAttributeScorerParameters.LinearLowerIsBetter },
        });
        var context = new ContextLengthAware("context-length-aware", new ContextLengthAwareParameters { EnableFiltering = true });
        var profile = new SchedulingProfile(
            "default",
            [gpuFilter, context],
            [
                new(gpuScorer, 2), new(context, 1), new(new ActiveRequestScorer("active", new ActiveRequestScorerParameters()), 1),
                new(new LoadAwareScorer("load", 128), 1), new(new NoHitLruScorer("lru", new NoHitLruScorerParameters()), 1),
                new(new SessionAffinityScorer("session", new SessionAffinityParameters(), TimeProvider.System), 5),
            ],
            new MaxScorePicker("max-score-picker"));
        _scheduler = new Scheduler(new SingleProfileHandler("single-profile-handler"), [profile]);

        var sessionId = new SessionAffinityScorer("session-id", new SessionAffinityParameters(SessionAffinityParameters.SessionId), TimeProvider.System);
        _sessionIds = new Scheduler(new SingleProfileHandler("single-profile-handler"), [new SchedulingProfile("default", [], [new(sessionId, 1), new(new LoadAwareScorer("load", 128), 1)], new MaxScorePicker("m"))]);

        var token = Convert.ToBase64String(Encoding.UTF8.GetBytes(_candidates[42].Endpoint.Name));
        _pinned = Request(Prompt(random, 4096), new FixedHeaders("x-session-token", token));
        _bound = Request(Prompt(random, 1024), new FixedHeaders("x-session-id", "conversation-1234"));
        for (var i = 0; i < _cold.Length; i++)
        {
            _cold[i] = Request(Prompt(random, 4096), new FixedHeaders("x-other", "1"));
        }

        for (var i = 0; i < 2000; i++)
        {
            PickWithSessionToken();
            PickCold();
            PickBoundSessionId();
        }
    }

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(Pinned))]
    public EndpointState PickWithSessionToken()
    {
        _result.Reset();
        _scheduler.Schedule(_pinned, _candidates, _result);
        return _result.Primary;
    }

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(Picked))]
    public EndpointState PickCold()
    {
        _result.Reset();
        _scheduler.Schedule(_cold[_next++ & 63], _candidates, _result);
        return _result.Primary;
    }

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(Picked))]
    public EndpointState PickBoundSessionId()
    {
        _result.Reset();
        _sessionIds.Schedule(_bound, _candidates, _result);
        return _result.Primary;
    }

    private bool Pinned(EndpointState? primary) => primary == _candidates[42];

    private bool Picked(EndpointState? primary) => primary is not null && _result.Primary == primary;

    private static SchedulingRequest Request(byte[] prompt, IRequestHeaders headers) =>
        new() { TargetModel = "meta-llama/Llama-3.1-8B-Instruct", Prompt = new ReadOnlySequence<byte>(prompt), Headers = headers };

    private static byte[] Prompt(Random random, int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)('a' + random.Next(26));
        }

        return bytes;
    }

    /// <summary>One request header, read without allocation (as the request path's header view).</summary>
    private sealed class FixedHeaders(string name, string value) : IRequestHeaders
    {
        private readonly byte[] _name = Encoding.ASCII.GetBytes(name);
        private readonly byte[] _value = Encoding.UTF8.GetBytes(value);

        public bool TryGetValue(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
        {
            value = name.SequenceEqual(_name) ? _value : default;
            return name.SequenceEqual(_name);
        }
    }
}
