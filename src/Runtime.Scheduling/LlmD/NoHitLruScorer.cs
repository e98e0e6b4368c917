using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.Prefix;

namespace Runtime.Scheduling.LlmD;

/// <summary>
/// <c>no-hit-lru-scorer</c> (llm-d v0.10): spreads cold requests. A request is cold when no candidate has
/// a prefix hit (from the approximate prefix producer). Cold requests rank the candidates: never sent a
/// cold request first (in candidate order), then by how long ago they last were (least recent first);
/// rank r of n scores 1 − r / (n − 1). After the pick of a cold request, the picked endpoint becomes the
/// most recent. Warm requests score 0.5 everywhere (neutral), so prefix affinity decides.
/// </summary>
/// <remarks>
/// As in llm-d, an endpoint's recency rank counts every remembered endpoint (up to <c>lruSize</c>), not
/// only the candidates. The recency table is one dictionary of sequence numbers under a short lock;
/// ranks come from a sorted copy in the thread's scratch, so a steady-state request allocates nothing.
/// </remarks>
internal sealed class NoHitLruScorer : IScorer, IPreRequest, IMetricsConsumer, IPrefixMatchConsumer
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, long> _lastUsed;
    private readonly int _capacity;
    private ApproxPrefixCacheProducer _producer;
    private bool _ownsProducer = true;
    private long _sequence;

    public NoHitLruScorer(string name, NoHitLruScorerParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Name = name;
        _capacity = parameters.EffectiveLruSize;
        _lastUsed = new Dictionary<int, long>(Math.Min(_capacity, 4096) + 1);
        ProducerName = parameters.PrefixMatchInfoProducerName;

        // llm-d creates the default producer when none is declared; so do we, with its defaults.
        _producer = new ApproxPrefixCacheProducer(name, new PrefixCacheScorerParameters(), typeName: BuiltInPlugins.NoHitLruScorer);
    }

    public string TypeName => BuiltInPlugins.NoHitLruScorer;

    public string Name { get; }

    public string? ProducerName { get; }

    public MetricKinds RequiredMetrics => _producer.RequiredMetrics;

    /// <summary>Endpoints remembered (at most lruSize).</summary>
    public int Remembered
    {
        get
        {
            lock (_lock)
            {
                return _lastUsed.Count;
            }
        }
    }

    public void UseProducer(ApproxPrefixCacheProducer producer)
    {
        _producer = producer;
        _ownsProducer = false;
    }

    public void Score(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, Span<double> scores)
    {
        var state = _producer.Prepare(context, request, candidates);
        var total = _producer.Match(context, state, candidates, scores);
        var cold = true;
        for (var i = 0; i < scores.Length && total > 0; i++)
        {
            cold &= scores[i] <= 0;
        }

        context.SetMark(this, cold ? 1 : 0);
        if (!cold)
        {
            scores.Fill(0.5);
            return;
        }

        var n = candidates.Length;
        if (n == 1)
        {
            scores[0] = 1.0;
            return;
        }

        // scores[i] holds the candidate's last-use sequence (0 = never) until it is turned into a score.
        var sorted = context.Keys(0);
        lock (_lock)
        {
            sorted = context.Keys(_lastUsed.Count);
            var k = 0;
            foreach (var seq in _lastUsed.Values)
            {
                sorted[k++] = seq;
            }

            for (var i = 0; i < n; i++)
            {
                scores[i] = _lastUsed.TryGetValue(candidates[i].Id, out var seq) ? seq : 0;
            }
        }

        sorted.Sort();
        var neverUsed = 0;
        for (var i = 0; i < n; i++)
        {
            if (scores[i] == 0)
            {
                neverUsed++;
            }
        }

        var firstNever = 0;
        for (var i = 0; i < n; i++)
        {
            double rank;
            if (scores[i] == 0)
            {
                rank = firstNever++;
            }
            else
            {
                // Position in the recency order, oldest first, over every remembered endpoint.
                rank = neverUsed + Math.Max(0, sorted.BinarySearch(scores[i]));
            }

            scores[i] = Math.Max(0, 1.0 - (rank / (n - 1)));
        }
    }

    public void PreRequest(SchedulingContext context, SchedulingRequest request, SchedulingResult result)
    {
        if (_ownsProducer)
        {
            _producer.PreRequest(context, request, result);
        }

        if (result.Count == 0 || !context.TryGetMark(this, out var cold) || cold == 0)
        {
            return;
        }

        Touch(result.Primary);
    }

    /// <summary>Makes <paramref name="endpoint"/> the most recently used, evicting the least recent past lruSize.</summary>
    internal void Touch(EndpointState endpoint)
    {
        lock (_lock)
        {
            _lastUsed[endpoint.Id] = ++_sequence;
            if (_lastUsed.Count <= _capacity)
            {
                return;
            }

            var oldest = 0;
            var oldestSeq = long.MaxValue;
            foreach (var (id, seq) in _lastUsed)
            {
                if (seq < oldestSeq)
                {
                    (oldest, oldestSeq) = (id, seq);
                }
            }

            _lastUsed.Remove(oldest);
        }
    }
}
