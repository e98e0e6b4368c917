using Runtime.Endpoints;
using Runtime.Scheduling.Prefix;

namespace Runtime.Scheduling.Framework;

/// <summary>
/// Per-thread scratch for one scheduling run: candidate lists, score arrays, picker buffers and the
/// per-request state of stateful plugins. The scheduler keeps one per thread, so nothing is allocated
/// per request once the buffers have grown to the pool size.
/// </summary>
/// <remarks>Not thread-safe: one run at a time. Tests and benchmarks may create their own.</remarks>
public sealed class SchedulingContext
{
    [ThreadStatic]
    private static SchedulingContext? t_current;

    private EndpointState[] _candidates = new EndpointState[64];
    private double[] _totals = new double[64];
    private double[] _scores = new double[64];
    private double[] _keys = new double[64];
    private int[] _indexes = new int[64];
    private PrefixRequestState[] _prefixStates = [];
    private SchedulingResult? _stage;
    private RequestMark[] _marks = [];

    /// <summary>Increases with every <see cref="BeginRequest"/>, so per-request state left from an earlier request is recognised as stale.</summary>
    public long RequestStamp { get; private set; }

    internal static SchedulingContext Current => t_current ??= new SchedulingContext();

    public void BeginRequest() => RequestStamp++;

    /// <summary>A result for a profile handler's extra stage (the prefill profile), reset; release it with <see cref="SchedulingResult.Reset"/> after use.</summary>
    internal SchedulingResult StageResult()
    {
        var stage = _stage ??= new SchedulingResult();
        stage.Reset();
        return stage;
    }

    /// <summary>The candidate buffer, at least <paramref name="count"/> long.</summary>
    internal Span<EndpointState> Candidates(int count) => Grow(ref _candidates, count).AsSpan(0, count);

    /// <summary>Drops the references to endpoints so a retired one is not kept alive by a thread's buffer.</summary>
    internal void ReleaseCandidates(int count) => Array.Clear(_candidates, 0, Math.Min(count, _candidates.Length));

    internal Span<double> Totals(int count) => Grow(ref _totals, count).AsSpan(0, count);

    internal Span<double> Scores(int count) => Grow(ref _scores, count).AsSpan(0, count);

    /// <summary>Scratch for pickers (sampling keys).</summary>
    public Span<double> Keys(int count) => Grow(ref _keys, count).AsSpan(0, count);

    /// <summary>Scratch for pickers and scorers (index lists).</summary>
    public Span<int> Indexes(int count) => Grow(ref _indexes, count).AsSpan(0, count);

    /// <summary>The per-request state of one prefix scorer on this thread (created on first use, then reused).</summary>
    internal PrefixRequestState PrefixState(object owner)
    {
        var states = _prefixStates;
        for (var i = 0; i < states.Length; i++)
        {
            if (ReferenceEquals(states[i].Owner, owner))
            {
                return states[i];
            }
        }

        // Bounded: a reload builds new scorers, and the old ones must not stay reachable from every thread.
        var state = new PrefixRequestState(owner);
        _prefixStates = states.Length >= 8 ? [.. states.AsSpan(1), state] : [.. states, state];
        return state;
    }

    /// <summary>
    /// Records a value for <paramref name="owner"/> for the current request (e.g. "this request was cold"
    /// between a scorer's Score and its PreRequest). Reused per thread, so nothing is allocated per request.
    /// </summary>
    internal void SetMark(object owner, long value)
    {
        var marks = _marks;
        for (var i = 0; i < marks.Length; i++)
        {
            if (ReferenceEquals(marks[i].Owner, owner))
            {
                marks[i].Stamp = RequestStamp;
                marks[i].Value = value;
                return;
            }
        }

        // Bounded like the prefix states: plugins of replaced configurations must not stay reachable.
        var mark = new RequestMark { Owner = owner, Stamp = RequestStamp, Value = value };
        _marks = marks.Length >= 16 ? [.. marks.AsSpan(1), mark] : [.. marks, mark];
    }

    /// <summary>The value <see cref="SetMark"/> recorded for <paramref name="owner"/> during the current request.</summary>
    internal bool TryGetMark(object owner, out long value)
    {
        foreach (var mark in _marks)
        {
            if (ReferenceEquals(mark.Owner, owner) && mark.Stamp == RequestStamp)
            {
                value = mark.Value;
                return true;
            }
        }

        value = 0;
        return false;
    }

    private struct RequestMark
    {
        public object Owner;
        public long Stamp;
        public long Value;
    }

    private static T[] Grow<T>(ref T[] buffer, int count)
    {
        if (buffer.Length < count)
        {
            buffer = new T[Math.Max(count, buffer.Length * 2)];
        }

        return buffer;
    }
}
