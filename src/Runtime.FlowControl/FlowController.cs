using Microsoft.Extensions.Logging;
using Runtime.Configuration.Model;
using Runtime.FlowControl.Policies;
using Runtime.FlowControl.Registry;
using Runtime.FlowControl.Stats;
using Runtime.Plugins.Saturation;
using Runtime.Primitives.Diagnostics;

namespace Runtime.FlowControl;

/// <summary>What <see cref="FlowController.SetDesiredPriorities"/> changed.</summary>
internal sealed record BandChanges(IReadOnlyList<int> Added, IReadOnlyList<int> Reactivated, IReadOnlyList<int> Draining, IReadOnlyList<int> Removed);

/// <summary>
/// Flow control (SPEC §3): admits requests into priority bands of fair per-flow queues and
/// releases them as the saturation gate allows. Registry → shards → bands → flows → queues.
/// </summary>
/// <remarks>
/// <para>Hot path: <see cref="EnqueueAndWaitAsync"/> reads the band table snapshot with
/// <see cref="Volatile.Read{T}(ref readonly T)"/> (no lock), reserves capacity with
/// <see cref="Interlocked"/> counters, and pushes a pooled <see cref="FlowItem"/> into its shard's
/// lock-free inbox. The writer lock <c>_tableLock</c> is taken only to create or remove a band
/// (the first request of a new priority, or the control plane), and new tables are published with
/// <see cref="Volatile.Write{T}(ref T, T)"/>; a band is created on every shard at once because
/// one table holds all its shards' parts.</para>
/// <para>Shard scaling (<see cref="SetShardCount"/>) goes through the same lock and table: a new
/// shard gets a part of every band in the table (draining ones included) before the table naming it
/// is published, and a band provisioned later gets a part for every shard in its table, so
/// provisioning and scaling serialize and every live shard ends with exactly one part per band. A
/// removed shard leaves the routing list at once and drains: its queued requests dispatch or
/// expire as usual, and it detaches itself once it holds none (<see cref="Shard.TryAdmit"/> is the
/// handshake that keeps a producer racing the removal from stranding a request in it).</para>
/// <para>Steady state allocates nothing per request: items are pooled and are the
/// <see cref="System.Threading.Tasks.Sources.IValueTaskSource{TResult}"/> behind the returned
/// <see cref="ValueTask{TResult}"/> (<c>FlowControlBenchmark</c> holds this at 0 B).</para>
/// <para>Settings (the options, with their durations in timestamp units) and the saturation
/// detector are one reference each, swapped whole by a config reload (<see cref="Reconfigure"/>,
/// in FlowController.Reconfigure.cs); readers take one snapshot per decision.</para>
/// <para>One file (~540 lines) on purpose: admission, the shard table swap and completion share the
/// lock-free protocol described above; splitting them would spread one invariant over files.</para>
/// </remarks>
internal sealed partial class FlowController : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly Lock _tableLock = new();
    private readonly DurationHistogram[] _queueDurations;
    private readonly DurationHistogram _cycleDurations = new(DurationHistogram.DispatchCycleBounds());
    private readonly long[] _outcomes = new long[Enum.GetValues<FlowControlOutcome>().Length];
    private BandTable _table;
    private Settings _settings;
    private ISaturationDetector _detector;
    private QueuedTotals _queued;
    private long _lastSaturationBits;
    private long _dispatcherErrors;
    private int _bandsCreated;
    private volatile bool _shutdown;

    public FlowController(FlowControlOptions options, FlowControlDependencies? dependencies = null)
    {
        IReadOnlyList<string> errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid flow control options: " + string.Join("; ", errors), nameof(options));
        }

        dependencies ??= new FlowControlDependencies();
        Time = dependencies.TimeProvider;
        _detector = dependencies.SaturationDetector;
        _logger = dependencies.Logger;
        _settings = Settings.Of(options, Time);
        _queueDurations = new DurationHistogram[_outcomes.Length];
        for (int i = 0; i < _queueDurations.Length; i++)
        {
            _queueDurations[i] = new DurationHistogram(DurationHistogram.QueueDurationBounds());
        }

        var shards = new Shard[options.ShardCount];
        for (int i = 0; i < shards.Length; i++)
        {
            shards[i] = new Shard(this, i, Time);
        }

        var bands = new List<PriorityBand>();
        foreach (PriorityBandOptions band in options.PriorityBands)
        {
            bands.Add(NewBand(band, band.Priority == 0 ? PriorityBandKind.Zero : PriorityBandKind.Static, shards.Length));
        }

        if (!bands.Exists(band => band.Priority == 0))
        {
            bands.Add(NewBand(options.DefaultPriorityBand with { Priority = 0 }, PriorityBandKind.Zero, shards.Length));
        }

        _table = BandTable.Create([.. bands], shards);
    }

    /// <summary>The options in force (the latest <see cref="Reconfigure"/>'s, or the constructor's).</summary>
    public FlowControlOptions Options => Volatile.Read(ref _settings).Options;

    /// <summary>Live shards (taking new requests); removed ones still draining are not counted.</summary>
    public int ShardCount => Table.Shards.Length;

    /// <summary>Current band priorities, highest first (draining ones included).</summary>
    public IReadOnlyList<int> Priorities => Array.ConvertAll(Table.Bands, band => band.Priority);

    internal TimeProvider Time { get; }

    internal ISaturationDetector Detector => Volatile.Read(ref _detector);

    /// <summary>How long an empty flow is kept, in timestamp units.</summary>
    internal long IdleTicks => Volatile.Read(ref _settings).IdleTicks;

    internal BandTable Table => Volatile.Read(ref _table);

    internal bool IsShutdown => _shutdown;

    /// <summary>Live shards and removed ones still draining.</summary>
    internal Shard[] AttachedShards => Table.Attached;

    /// <summary>Test hook: called on the dispatching thread of every shard, including ones added later.</summary>
    internal IDispatchObserver? Observer { get; set; }

    /// <summary>How many bands were ever created (test hook for provisioning races).</summary>
    internal int BandsCreated => Volatile.Read(ref _bandsCreated);

    /// <summary>
    /// Admits <paramref name="request"/> and completes when it is dispatched, rejected or evicted.
    /// Never throws for flow-control reasons and never faults: the outcome says what happened.
    /// </summary>
    public ValueTask<FlowControlResult> EnqueueAndWaitAsync(in FlowControlRequest request, CancellationToken cancellationToken = default)
    {
        int priority = request.Priority;
        if (_shutdown)
        {
            return Immediate(FlowControlOutcome.RejectedShutdown, priority);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return Immediate(FlowControlOutcome.EvictedCancelled, priority);
        }

        long bytes = Math.Max(0, request.ByteSize);
        PriorityBand band;
        while (true)
        {
            band = ResolveBand(priority);
            if (!band.TryReserve(bytes))
            {
                return Immediate(FlowControlOutcome.RejectedCapacity, band.Priority);
            }

            if (!band.IsDraining)
            {
                break;
            }

            // Lost a race with the control plane draining the band: back out and resolve again (demotes).
            ReleaseBand(band, bytes);
        }

        if (!TryReserveGlobal(bytes))
        {
            ReleaseBand(band, bytes);
            return Immediate(FlowControlOutcome.RejectedCapacity, band.Priority);
        }

        Shard shard = Table.ShardFor(request.FairnessId);
        while (!shard.TryAdmit())
        {
            // Lost a race with SetShardCount removing the shard: the new table no longer routes to it.
            shard = Table.ShardFor(request.FairnessId);
        }

        long now = Time.GetTimestamp();
        long ttlTicks = request.Ttl > TimeSpan.Zero ? ToTicks(request.Ttl) : Volatile.Read(ref _settings).DefaultTtlTicks;
        long deadline = ttlTicks > 0 ? now + ttlTicks : long.MaxValue;
        FlowItem item = FlowItem.Rent();
        long sloDeadline = request.SloTtft > TimeSpan.Zero ? now + ToTicks(request.SloTtft) : long.MaxValue;
        item.Arm(request.FairnessId, bytes, shard.NextSequence(), now, deadline, band, shard, sloDeadline);
        short version = item.Version;
        if (cancellationToken.CanBeCanceled)
        {
            item.RegisterCancellation(cancellationToken);
        }

        shard.Enqueue(item);
        return new ValueTask<FlowControlResult>(item, version);
    }

    /// <summary>
    /// Something that gates dispatch changed (a request finished, fresh metrics): re-check the
    /// queues now. Cheap when nothing is queued; safe from any thread.
    /// </summary>
    public void NotifyCapacityChanged()
    {
        foreach (Shard shard in Table.Attached)
        {
            shard.RequestDispatch();
        }
    }

    /// <summary>
    /// Control plane: converge on <paramref name="desired"/> (computed from the whole world).
    /// Missing bands are created; bands that left the set drain (new requests for them are
    /// demoted to 0; queued ones dispatch or expire) and are removed once empty. Static bands and
    /// band 0 always stay.
    /// </summary>
    public BandChanges SetDesiredPriorities(IEnumerable<int> desired)
    {
        var wanted = new HashSet<int>(desired) { 0 };
        var added = new List<int>();
        var reactivated = new List<int>();
        var draining = new List<int>();
        var removed = new List<int>();
        lock (_tableLock)
        {
            _desired = wanted; // a reload that drops a static band keeps it if this set still wants it
            BandTable table = _table;
            foreach (int priority in wanted)
            {
                if (table.TryGet(priority, out PriorityBand? band))
                {
                    if (band.IsDraining)
                    {
                        band.Reactivate();
                        reactivated.Add(priority);
                    }
                }
                else
                {
                    table = table.With(NewBand(BandOptionsFor(priority), PriorityBandKind.Dynamic, table.Slots));
                    added.Add(priority);
                }
            }

            foreach (PriorityBand band in table.Bands)
            {
                if (band.Kind == PriorityBandKind.Dynamic && !wanted.Contains(band.Priority) && !band.IsDraining)
                {
                    band.MarkDraining();
                    draining.Add(band.Priority);
                }
            }

            Volatile.Write(ref _table, WithoutDrainedBands(table, removed));
        }

        return new BandChanges(added, reactivated, draining, removed);
    }

    /// <summary>
    /// The table without the draining bands that are already empty (a non-empty one goes when its
    /// last request leaves); their priorities are added to <paramref name="removed"/>.
    /// </summary>
    private static BandTable WithoutDrainedBands(BandTable table, List<int> removed)
    {
        foreach (PriorityBand band in table.Bands)
        {
            if (band.IsDraining && band.Requests == 0)
            {
                table = table.Without(band);
                removed.Add(band.Priority);
            }
        }

        return table;
    }

    /// <summary>
    /// Changes the number of live shards to <paramref name="count"/> (1 to 1024). New shards get
    /// every current band (draining state included) atomically with the table that routes to them.
    /// Removed shards (the last ones in routing order) take no new requests at once; their queued
    /// requests still dispatch or expire, then they are dropped. Flows route by a consistent hash,
    /// so only the flows of added or removed shards move; while a moved flow still has requests in
    /// its old, draining shard, FCFS within that flow holds per shard only.
    /// </summary>
    public void SetShardCount(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, FlowControlConfig.MaxShardCount);
        Shard[] removed = [];
        lock (_tableLock)
        {
            ObjectDisposedException.ThrowIf(_shutdown, this);
            BandTable table = _table;
            Shard[] live = table.Shards;
            if (count > live.Length)
            {
                var attached = new List<Shard>(table.Attached);
                var grown = new Shard[count];
                live.CopyTo(grown, 0);
                for (int i = live.Length; i < count; i++)
                {
                    int slot = FreeSlot(attached);
                    foreach (PriorityBand band in table.Bands)
                    {
                        band.AddShardSlot(slot);
                    }

                    grown[i] = new Shard(this, slot, Time);
                    attached.Add(grown[i]);
                }

                Volatile.Write(ref _table, table.WithShards(grown, [.. attached]));
            }
            else if (count < live.Length)
            {
                // Unpublish first, then refuse: a producer holding the old table retries at most once.
                removed = live[count..];
                Volatile.Write(ref _table, table.WithShards(live[..count], table.Attached));
                foreach (Shard shard in removed)
                {
                    shard.MarkDraining();
                }
            }
        }

        // Outside the lock: an already empty shard detaches itself in this cycle.
        foreach (Shard shard in removed)
        {
            shard.RequestDispatch();
        }
    }

    public FlowControlStats GetStats()
    {
        BandTable table = Table;
        var bands = new List<BandStats>(table.Bands.Length);
        foreach (PriorityBand band in table.Bands)
        {
            int flows = 0;
            ShardBand[] parts = band.PerShard;
            foreach (Shard shard in table.Attached)
            {
                flows += parts[shard.Index].Flows.Count; // racy read of a count: fine for metrics
            }

            bands.Add(new BandStats(band.Priority, band.Kind, band.IsDraining, band.Requests, band.Bytes, flows));
        }

        return new FlowControlStats(
            Volatile.Read(ref _queued.Requests),
            Volatile.Read(ref _queued.Bytes),
            bands,
            BitConverter.Int64BitsToDouble(Volatile.Read(ref _lastSaturationBits)),
            Array.ConvertAll(_queueDurations, histogram => histogram.Snapshot()),
            _cycleDurations.Snapshot(),
            Array.ConvertAll(_outcomes, count => Volatile.Read(ref count)),
            Volatile.Read(ref _dispatcherErrors));
    }

    /// <summary>Stops admission and evicts everything queued (outcome <see cref="FlowControlOutcome.EvictedShutdown"/>).</summary>
    public ValueTask DisposeAsync()
    {
        Shard[] shards;
        lock (_tableLock)
        {
            // Under the lock so no shard is added after we took the list.
            _shutdown = true;
            shards = _table.Attached;
        }

        foreach (Shard shard in shards)
        {
            shard.RequestDispatch();
            shard.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    internal Shard ShardFor(string fairnessId) => Table.ShardFor(fairnessId);

    /// <summary>
    /// Called by a draining shard's dispatcher once it holds no request and none can arrive
    /// (<see cref="Shard.TryAdmit"/>): drops it from the table, freeing its slot for reuse.
    /// </summary>
    internal void Detach(Shard shard)
    {
        lock (_tableLock)
        {
            BandTable table = _table;
            if (Array.IndexOf(table.Attached, shard) >= 0)
            {
                Volatile.Write(ref _table, table.WithShards(table.Shards, Array.FindAll(table.Attached, s => !ReferenceEquals(s, shard))));
            }
        }
    }

    internal bool IsGateOpen(int priority) => IsGateOpen(priority, 0, 1);

    /// <summary>Whether the band of <paramref name="priority"/>, <paramref name="rank"/>-th of <paramref name="bandCount"/> bands (highest first), may dispatch now.</summary>
    internal bool IsGateOpen(int priority, int rank, int bandCount)
    {
        double saturation = Detector.GetSaturation();
        Volatile.Write(ref _lastSaturationBits, BitConverter.DoubleToInt64Bits(saturation));
        IUsageLimitPolicy policy = Options.UsageLimitPolicy;
        double limit = policy is IRankedUsageLimitPolicy ranked
            ? ranked.GetLimit(rank, bandCount, saturation)
            : policy.GetLimit(priority);
        return saturation < limit;
    }

    /// <summary>Releases the item's capacity, records its outcome, completes its waiter (after a won <see cref="FlowItem.TryFinish"/>).</summary>
    internal void Finish(FlowItem item, FlowControlOutcome outcome, long now)
    {
        PriorityBand band = item.Band;
        Interlocked.Decrement(ref _queued.Requests);
        Interlocked.Add(ref _queued.Bytes, -item.Bytes);
        ReleaseBand(band, item.Bytes);
        TimeSpan queued = Time.GetElapsedTime(item.EnqueueTimestamp, Math.Max(now, item.EnqueueTimestamp));
        _queueDurations[(int)outcome].Record(queued);
        Interlocked.Increment(ref _outcomes[(int)outcome]);
        item.Complete(new FlowControlResult(outcome, band.Priority, queued));
    }

    internal void RecordCycle(TimeSpan duration)
    {
        _cycleDurations.Record(duration);
        FlowControlMetrics.DispatchCycle(duration);
    }

    /// <summary>A dispatch cycle threw: its requests stay queued and the next signal runs the cycle again.</summary>
    internal void ReportDispatcherError(int shard, Exception exception)
    {
        Interlocked.Increment(ref _dispatcherErrors);
        SwallowedErrors.Report(_logger, LogLevel.Error, "flow_control", "dispatch_cycle",
            $"a dispatch cycle of shard {shard} threw; its queued requests stay queued until the next cycle (a policy or saturation detector bug?)", exception);
    }

    private ValueTask<FlowControlResult> Immediate(FlowControlOutcome outcome, int priority)
    {
        Interlocked.Increment(ref _outcomes[(int)outcome]);
        return new ValueTask<FlowControlResult>(new FlowControlResult(outcome, priority, TimeSpan.Zero));
    }

    private PriorityBand ResolveBand(int priority)
    {
        if (Table.TryGet(priority, out PriorityBand? band) && !band.IsDraining)
        {
            return band;
        }

        if (band is null && Options.UnprovisionedPriority == UnprovisionedPriorityPolicy.JustInTime)
        {
            band = Provision(priority);
            if (!band.IsDraining)
            {
                return band;
            }
        }

        // Demote: the control plane has not provisioned this priority (or is removing it).
        return Table.TryGet(0, out band) ? band : Provision(0);
    }

    private PriorityBand Provision(int priority)
    {
        lock (_tableLock)
        {
            BandTable table = _table;
            if (table.TryGet(priority, out PriorityBand? band))
            {
                return band;
            }

            band = NewBand(BandOptionsFor(priority), priority == 0 ? PriorityBandKind.Zero : PriorityBandKind.Dynamic, table.Slots);
            Volatile.Write(ref _table, table.With(band));
            return band;
        }
    }

    private bool TryReserveGlobal(long bytes)
    {
        long requests = Interlocked.Increment(ref _queued.Requests);
        long total = Interlocked.Add(ref _queued.Bytes, bytes);
        FlowControlOptions options = Options;
        if ((options.MaxRequests > 0 && requests > options.MaxRequests) || (options.MaxBytes > 0 && total > options.MaxBytes))
        {
            Interlocked.Decrement(ref _queued.Requests);
            Interlocked.Add(ref _queued.Bytes, -bytes);
            return false;
        }

        return true;
    }

    private void ReleaseBand(PriorityBand band, long bytes)
    {
        if (band.Release(bytes) == 0 && band.IsDraining)
        {
            TryRemoveDrained(band);
        }
    }

    private void TryRemoveDrained(PriorityBand band)
    {
        lock (_tableLock)
        {
            BandTable table = _table;
            if (band.IsDraining && band.Requests == 0 && table.TryGet(band.Priority, out PriorityBand? current) && ReferenceEquals(current, band))
            {
                Volatile.Write(ref _table, table.Without(band));
            }
        }
    }

    private PriorityBandOptions BandOptionsFor(int priority)
    {
        FlowControlOptions options = Options;
        foreach (PriorityBandOptions band in options.PriorityBands)
        {
            if (band.Priority == priority)
            {
                return band;
            }
        }

        return options.DefaultPriorityBand with { Priority = priority };
    }

    private PriorityBand NewBand(PriorityBandOptions options, PriorityBandKind kind, int slots)
    {
        Interlocked.Increment(ref _bandsCreated);
        return new PriorityBand(options, kind, slots);
    }

    /// <summary>The lowest slot no attached shard uses (a dropped shard's slot is reused).</summary>
    private static int FreeSlot(List<Shard> attached)
    {
        int slot = 0;
        while (attached.Exists(shard => shard.Index == slot))
        {
            slot++;
        }

        return slot;
    }

    private long ToTicks(TimeSpan span) => ToTicks(span, Time);

    private static long ToTicks(TimeSpan span, TimeProvider time) => span <= TimeSpan.Zero ? 0 : (long)(span.TotalSeconds * time.TimestampFrequency);

    /// <summary>The options with their durations in timestamp units: one reference, swapped whole.</summary>
    private sealed record Settings(FlowControlOptions Options, long DefaultTtlTicks, long IdleTicks)
    {
        public static Settings Of(FlowControlOptions options, TimeProvider time) =>
            new(options, ToTicks(options.DefaultRequestTtl, time), Math.Max(1, ToTicks(options.FlowIdleTimeout, time)));
    }
}
