using BenchmarkDotNet.Attributes;
using Runtime.Benchmarks.Infrastructure;
using Runtime.FlowControl;
using Runtime.Plugins.Saturation;
using static Runtime.Benchmarks.FlowControl.CompletedValueTask;

namespace Runtime.Benchmarks.FlowControl;

/// <summary>
/// Enqueue + dispatch of one request with the gate open (the steady state of an unsaturated
/// pool): admission, band lookup, inbox, flow lookup, dispatch, waiter completion and the pooled
/// item's return. Must stay at 0 B/op, with and without a cancellable token.
/// </summary>
[MemoryDiagnoser]
public class FlowControlBenchmark
{
    private readonly CancellationTokenSource _cts = new();
    private FlowController _controller = null!;

    [GlobalSetup]
    public void Setup()
    {
        _controller = new FlowController(new FlowControlOptions());
        Completed(_controller.EnqueueAndWaitAsync(new FlowControlRequest("tenant", 0, 1024)));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _controller.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _cts.Dispose();
    }

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(Dispatched))]
    public FlowControlOutcome EnqueueDispatchOne() =>
        Completed(_controller.EnqueueAndWaitAsync(new FlowControlRequest("tenant", 0, 1024))).Outcome;

    [Benchmark]
    [AllocationBudget(0, Outcome = nameof(Dispatched))]
    public FlowControlOutcome EnqueueDispatchOne_Cancellable() =>
        Completed(_controller.EnqueueAndWaitAsync(new FlowControlRequest("tenant", 0, 1024), _cts.Token)).Outcome;

    private static bool Dispatched(FlowControlOutcome outcome) => outcome == FlowControlOutcome.Dispatched;
}

/// <summary>
/// Cost per request with many flows and bands. <c>Immediate</c>: each request is dispatched as
/// it arrives (requests rotate over the flows and bands). <c>Backlog</c>: a batch of 10,000
/// requests queues behind a closed gate, then the gate opens and all drain in one go; the cost per
/// request includes choosing among the band's waiting flows.
/// </summary>
[MemoryDiagnoser]
public class FlowControlScalingBenchmark
{
    private const int Batch = 10_000;
    private readonly SwitchDetector _gate = new();
    private readonly ValueTask<FlowControlResult>[] _pending = new ValueTask<FlowControlResult>[Batch];
    private FlowController _controller = null!;
    private string[] _flowIds = [];

    [Params(1, 100, 10_000)]
    public int Flows { get; set; }

    [Params(1, 10, 100)]
    public int Bands { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _controller = new FlowController(new FlowControlOptions(), new FlowControlDependencies { SaturationDetector = _gate });
        _flowIds = Enumerable.Range(0, Flows).Select(i => $"tenant-{i}").ToArray();
        _gate.Open = true;
        for (int i = 0; i < Math.Max(Flows, Bands) * 2; i++)
        {
            Completed(Enqueue(i));
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _controller.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(OperationsPerInvoke = Batch)]
    public long Immediate()
    {
        long total = 0;
        for (int i = 0; i < Batch; i++)
        {
            total += (int)Completed(Enqueue(i)).Outcome;
        }

        return total;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public long Backlog()
    {
        _gate.Open = false;
        for (int i = 0; i < Batch; i++)
        {
#pragma warning disable CA2012 // each is consumed exactly once below, after the drain
            _pending[i] = Enqueue(i);
#pragma warning restore CA2012
        }

        _gate.Open = true;
        _controller.NotifyCapacityChanged();
        long total = 0;
        for (int i = 0; i < Batch; i++)
        {
            total += (int)Completed(_pending[i]).Outcome;
        }

        return total;
    }

    private ValueTask<FlowControlResult> Enqueue(int i) =>
        _controller.EnqueueAndWaitAsync(new FlowControlRequest(_flowIds[i % _flowIds.Length], i % Bands, 1024));

    private sealed class SwitchDetector : ISaturationDetector
    {
        public volatile bool Open;

        public double GetSaturation() => Open ? 0 : 1;
    }
}

/// <summary>
/// Enqueue + dispatch throughput with 1, 2 and 4 producer threads, each on its own flow, with
/// one shard (all producers meet in one inbox and dispatch role) or four (flows chosen to land on
/// different shards). Reported per request.
/// </summary>
[MemoryDiagnoser]
public class FlowControlContentionBenchmark
{
    private const int PerProducer = 20_000;
    private FlowController _controller = null!;
    private string[] _flowIds = [];

    [Params(1, 2, 4)]
    public int Producers { get; set; }

    [Params(1, 4)]
    public int Shards { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _controller = new FlowController(new FlowControlOptions { ShardCount = Shards });
        var ids = new List<string>();
        var usedShards = new HashSet<int>();
        for (int i = 0; ids.Count < Producers; i++)
        {
            string id = $"tenant-{i}";
            if (usedShards.Add(_controller.ShardFor(id).Index) || usedShards.Count >= Shards)
            {
                ids.Add(id);
            }
        }

        _flowIds = [.. ids];
    }

    [GlobalCleanup]
    public void Cleanup() => _controller.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark]
    public void EnqueueDispatch()
    {
        if (Producers == 1)
        {
            Produce(0);
            return;
        }

        Parallel.For(0, Producers, new ParallelOptions { MaxDegreeOfParallelism = Producers }, Produce);
    }

    private void Produce(int producer)
    {
        string flow = _flowIds[producer];
        for (int i = 0; i < PerProducer; i++)
        {
#pragma warning disable CA2012 // consumed once, after spinning until it completes
            ValueTask<FlowControlResult> pending = _controller.EnqueueAndWaitAsync(new FlowControlRequest(flow, 0, 1024));
#pragma warning restore CA2012
            var spin = default(SpinWait);
            while (!pending.IsCompleted)
            {
                spin.SpinOnce();
            }

            Completed(pending);
        }
    }
}

/// <summary>Results of flow-control calls that must already have completed (gate open, inline dispatch).</summary>
internal static class CompletedValueTask
{
    public static FlowControlResult Completed(ValueTask<FlowControlResult> pending) =>
        pending.IsCompleted ? pending.Result : throw new InvalidOperationException("expected a completed flow-control call");
}
