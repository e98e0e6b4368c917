using System.Runtime.InteropServices;

namespace Runtime.Simulation;

/// <summary>
/// The load model behind one simulated server: at most <c>maxRunning</c> requests hold a slot,
/// the rest wait in arrival order. A LoRA request also needs its adapter loaded, or a free
/// adapter slot (<c>maxLora</c>); like vLLM's scheduler, a waiting request that cannot get one
/// does not hold back the requests behind it. KV-cache use is the running requests' tokens
/// (prompt plus generated so far) over the capacity, clamped to 1.
/// </summary>
internal sealed class SimulatedEngine
{
    private readonly Lock _lock = new();
    private readonly LinkedList<SimulatedRequest> _waiting = new();
    private readonly Dictionary<string, int> _runningAdapters = new(StringComparer.Ordinal);
    private readonly int _maxRunning;
    private readonly int _maxLora;
    private readonly int _capacityTokens;
    private int _running;
    private long _tokens;

    public SimulatedEngine(int maxRunning, int maxLora, int capacityTokens)
    {
        _maxRunning = maxRunning;
        _maxLora = maxLora;
        _capacityTokens = capacityTokens;
    }

    /// <summary>
    /// Waits for a slot. The caller must <see cref="Release"/> the returned request exactly once;
    /// a cancelled wait throws and holds nothing.
    /// </summary>
    public async Task<SimulatedRequest> AdmitAsync(int promptTokens, string? adapter, CancellationToken cancellationToken)
    {
        var request = new SimulatedRequest(promptTokens, adapter);
        lock (_lock)
        {
            request.Node = _waiting.AddLast(request);
            AdmitWaitingLocked();
        }

        if (!request.Admitted.Task.IsCompleted)
        {
            using var registration = cancellationToken.Register(
                static state =>
                {
                    var (engine, waiting, token) = ((SimulatedEngine, SimulatedRequest, CancellationToken))state!;
                    engine.CancelWaiting(waiting, token);
                },
                (this, request, cancellationToken));
            await request.Admitted.Task;
        }

        return request;
    }

    public void AddGeneratedToken(SimulatedRequest request)
    {
        lock (_lock)
        {
            request.Tokens++;
            _tokens++;
        }
    }

    public void Release(SimulatedRequest request)
    {
        lock (_lock)
        {
            _running--;
            _tokens -= request.Tokens;
            if (request.Adapter is not null && --_runningAdapters[request.Adapter] == 0)
            {
                _runningAdapters.Remove(request.Adapter);
            }

            AdmitWaitingLocked();
        }
    }

    public EngineLoad Snapshot()
    {
        lock (_lock)
        {
            var waitingAdapters = new List<string>();
            foreach (var request in _waiting)
            {
                if (request.Adapter is not null && !waitingAdapters.Contains(request.Adapter))
                {
                    waitingAdapters.Add(request.Adapter);
                }
            }

            return new EngineLoad(
                _running,
                _waiting.Count,
                Math.Min(1.0, (double)_tokens / _capacityTokens),
                [.. _runningAdapters.Keys],
                waitingAdapters);
        }
    }

    private void CancelWaiting(SimulatedRequest request, CancellationToken token)
    {
        lock (_lock)
        {
            if (request.Node is null)
            {
                return; // admitted already: the caller holds the slot and releases it
            }

            _waiting.Remove(request.Node);
            request.Node = null;
        }

        request.Admitted.TrySetCanceled(token);
    }

    private void AdmitWaitingLocked()
    {
        var node = _waiting.First;
        while (node is not null && _running < _maxRunning)
        {
            var next = node.Next;
            var request = node.Value;
            var adapter = request.Adapter;
            if (adapter is null || _runningAdapters.ContainsKey(adapter) || _runningAdapters.Count < _maxLora)
            {
                _waiting.Remove(node);
                request.Node = null;
                _running++;
                _tokens += request.Tokens;
                if (adapter is not null)
                {
                    CollectionsMarshal.GetValueRefOrAddDefault(_runningAdapters, adapter, out _)++;
                }

                request.Admitted.TrySetResult();
            }

            node = next;
        }
    }
}

internal sealed class SimulatedRequest
{
    public SimulatedRequest(int promptTokens, string? adapter)
    {
        Tokens = promptTokens;
        Adapter = adapter;
    }

    public string? Adapter { get; }

    /// <summary>Tokens held in the KV cache: the prompt, then one more per generated token.</summary>
    public int Tokens { get; set; }

    /// <summary>Position in the waiting queue; null once admitted or cancelled. Guarded by the engine's lock.</summary>
    public LinkedListNode<SimulatedRequest>? Node { get; set; }

    public TaskCompletionSource Admitted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

internal readonly record struct EngineLoad(
    int Running,
    int Waiting,
    double KvCacheUsage,
    IReadOnlyList<string> RunningLoraAdapters,
    IReadOnlyList<string> WaitingLoraAdapters);
