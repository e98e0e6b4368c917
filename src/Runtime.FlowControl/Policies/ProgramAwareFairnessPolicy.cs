namespace Runtime.FlowControl.Policies;

/// <summary>Parameters of <see cref="ProgramAwareFairnessPolicy"/> (llm-d v0.10 names and defaults).</summary>
internal sealed record ProgramAwareFairnessOptions
{
    public double WeightService { get; init; } = 0.8;

    public double WeightHeadWait { get; init; } = 0.2;

    public double DecayFactor { get; init; } = 0.99997;

    public double HalfLifeSeconds { get; init; }

    public double EvictionTtlSeconds { get; init; } = 3600;

    public double EvictionSweepSeconds { get; init; } = 300;
}

/// <summary>
/// llm-d v0.10's <c>program-aware-fairness</c> with its <c>las</c> (least attained service) strategy: a
/// program is a fairness id (<c>x-llm-d-inference-fairness-id</c>); each program's attained service is the
/// weighted tokens its completed requests consumed (input ×1, output ×2). Among a band's flows with work
/// the one with the best <c>weightService·(1 − norm(service)) + weightHeadWait·norm(headWait)</c> is served
/// (min-max normalised over those flows). Service of programs with nothing queued decays — by
/// <c>lasDecayFactor</c> per pick, or with a wall-clock half-life when <c>lasHalfLifeSeconds</c> &gt; 0 — and
/// programs with no completion within <c>evictionTtlSeconds</c> are forgotten (swept every
/// <c>evictionSweepSeconds</c>).
/// </summary>
/// <remarks>
/// With active-active replicas (<c>--replica-state</c>) a program's service is this replica's own
/// plus what the pool's other replicas report for it (<see cref="Remote"/>): each replica decays and
/// evicts its own part, and publishes it (<see cref="CopyLocalUsage"/>).
/// </remarks>
internal sealed class ProgramAwareFairnessPolicy(ProgramAwareFairnessOptions options, TimeProvider? time = null) : IFairnessPolicy
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<string, Program> _programs = new(StringComparer.Ordinal);
    private readonly HashSet<string> _queued = new(StringComparer.Ordinal);
    private readonly List<string> _evict = [];
    private readonly List<double> _services = [];
    private readonly Lock _lock = new();
    private IRemoteFlowUsage? _remote;
    private long _lastSweep;

    public string TypeName => "program-aware-fairness";

    public ProgramAwareFairnessOptions Options => options;

    /// <summary>The other replicas' usage (null when replica state is not shared): added to this replica's own when choosing.</summary>
    public IRemoteFlowUsage? Remote
    {
        get => Volatile.Read(ref _remote);
        set => Volatile.Write(ref _remote, value);
    }

    /// <summary>A request of <paramref name="programId"/> completed with this usage: adds to its attained service.</summary>
    public void RecordCompletion(string programId, long promptTokens, long completionTokens)
    {
        var cost = promptTokens + 2.0 * completionTokens;
        lock (_lock)
        {
            var program = GetOrCreate(programId);
            program.Service += cost;
            program.DecayAnchor = _time.GetTimestamp();
            program.LastCompletion = program.DecayAnchor;
        }
    }

    /// <summary>The program's current attained service (weighted tokens) across the pool — this replica's and the others' — 0 when unknown.</summary>
    public double AttainedService(string programId) => LocalService(programId) + (Remote?.ServiceOf(programId) ?? 0);

    /// <summary>The program's attained service on this replica alone.</summary>
    public double LocalService(string programId)
    {
        lock (_lock)
        {
            return _programs.TryGetValue(programId, out var program) ? program.Service : 0;
        }
    }

    /// <summary>
    /// Appends this replica's programs with at least <paramref name="minService"/> service, largest
    /// first and at most <paramref name="max"/> of them (what a replica shares; the rest weigh little).
    /// </summary>
    public void CopyLocalUsage(List<FlowUsage> into, double minService, int max)
    {
        ArgumentNullException.ThrowIfNull(into);
        var start = into.Count;
        lock (_lock)
        {
            foreach (var (id, program) in _programs)
            {
                if (program.Service >= minService)
                {
                    into.Add(new FlowUsage(id, program.Service));
                }
            }
        }

        if (into.Count - start > max)
        {
            into.Sort(start, into.Count - start, Comparer<FlowUsage>.Create(static (x, y) => y.Service.CompareTo(x.Service)));
            into.RemoveRange(start + max, into.Count - start - max);
        }
    }

    public int SelectFlow(ActiveFlowsView flows, ref int cursor)
    {
        var now = _time.GetTimestamp();
        var remote = Remote;
        lock (_lock)
        {
            _queued.Clear();
            _services.Clear();
            double minService = 0, maxService = 0, minWait = 0, maxWait = 0;
            for (var i = 0; i < flows.Count; i++)
            {
                var id = flows.FairnessIdOf(i);
                _queued.Add(id);
                var service = GetOrCreate(id).Service + (remote?.ServiceOf(id) ?? 0);
                _services.Add(service);
                var wait = WaitMs(flows.HeadOf(i), now);
                minService = i == 0 ? service : Math.Min(minService, service);
                maxService = i == 0 ? service : Math.Max(maxService, service);
                minWait = i == 0 ? wait : Math.Min(minWait, wait);
                maxWait = i == 0 ? wait : Math.Max(maxWait, wait);
            }

            var best = 0;
            var bestScore = double.NegativeInfinity;
            for (var i = 0; i < flows.Count; i++)
            {
                var score = options.WeightService * (1 - Normalize(_services[i], minService, maxService))
                    + options.WeightHeadWait * Normalize(WaitMs(flows.HeadOf(i), now), minWait, maxWait);
                if (score > bestScore)
                {
                    bestScore = score;
                    best = i;
                }
            }

            DecayIdle(now);
            Sweep(now);
            return best;
        }
    }

    private Program GetOrCreate(string id)
    {
        if (!_programs.TryGetValue(id, out var program))
        {
            var now = _time.GetTimestamp();
            program = new Program { LastCompletion = now, DecayAnchor = now };
            _programs[id] = program;
        }

        return program;
    }

    private void DecayIdle(long now)
    {
        foreach (var (id, program) in _programs)
        {
            if (_queued.Contains(id))
            {
                continue;
            }

            if (options.HalfLifeSeconds > 0)
            {
                var elapsed = _time.GetElapsedTime(program.DecayAnchor, now).TotalSeconds;
                if (elapsed > 0)
                {
                    program.Service *= Math.Pow(0.5, elapsed / options.HalfLifeSeconds);
                    program.DecayAnchor = now;
                }
            }
            else
            {
                program.Service *= options.DecayFactor;
            }
        }
    }

    private void Sweep(long now)
    {
        if (options.EvictionTtlSeconds <= 0 || _time.GetElapsedTime(_lastSweep, now).TotalSeconds < options.EvictionSweepSeconds)
        {
            return;
        }

        _lastSweep = now;
        _evict.Clear();
        foreach (var (id, program) in _programs)
        {
            if (!_queued.Contains(id) && _time.GetElapsedTime(program.LastCompletion, now).TotalSeconds > options.EvictionTtlSeconds)
            {
                _evict.Add(id);
            }
        }

        foreach (var id in _evict)
        {
            _programs.Remove(id);
        }
    }

    // Enqueue timestamps come from the flow controller's clock, the same TimeProvider as this policy's.
    private double WaitMs(QueueOrderKey head, long now) =>
        head.EnqueueTimestamp <= 0 || head.EnqueueTimestamp > now ? 0 : _time.GetElapsedTime(head.EnqueueTimestamp, now).TotalMilliseconds;

    private static double Normalize(double value, double min, double max) => max > min ? (value - min) / (max - min) : 0;

    private sealed class Program
    {
        public double Service;
        public long DecayAnchor;
        public long LastCompletion;
    }
}
