using System.Buffers.Text;
using System.Diagnostics;
using System.Text;
using Runtime.ExtProc.Codec;

namespace Runtime.ExtProc.Stream;

/// <summary>Which requests get a span: the standard <c>OTEL_TRACES_SAMPLER</c> choices.</summary>
/// <param name="ParentBased">Follow an incoming <c>traceparent</c>'s sampled flag when there is one.</param>
/// <param name="Ratio">The fraction of the other requests sampled (by trace id when one came in).</param>
internal readonly record struct TraceSampling(bool ParentBased, double Ratio);

/// <summary>
/// The per-request server span of one ext_proc listener, as the Go projects name it
/// (<c>gateway.request</c>, kind server): started when the request headers arrive, as a child of
/// the W3C <c>traceparent</c> they carry (llm-d v0.10; GIE v1.5.0 started a new trace each time),
/// ended with the stream. The sampling decision is taken here, before anything is allocated: a
/// request that is not sampled, like every request with tracing off, costs a header lookup.
/// </summary>
internal sealed class ExtProcTracing
{
    /// <summary>The span's name in GIE v1.5.0 and llm-d v0.10 (EPP and BBR alike).</summary>
    public const string RequestSpanName = "gateway.request";

    private static readonly byte[] s_traceParent = "traceparent"u8.ToArray();
    private static readonly byte[] s_traceState = "tracestate"u8.ToArray();

    private readonly ActivitySource _source;
    private readonly TraceSampling _sampling;
    private readonly long _ratioBound;

    /// <param name="source">Spans are created here; a listener (the OpenTelemetry SDK) must record them.</param>
    /// <param name="sampling">Which requests are traced.</param>
    /// <param name="propagateUpstream">
    /// Set the span's <c>traceparent</c> on the request that goes to the model server (the Go
    /// endpoint picker does, so the server's spans nest under it; the body-based router does not).
    /// </param>
    public ExtProcTracing(ActivitySource source, TraceSampling sampling, bool propagateUpstream)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
        _sampling = sampling;
        PropagateUpstream = propagateUpstream;

        // As OpenTelemetry's TraceIdRatioBased: the first 8 bytes of the id against ratio × long.MaxValue.
        _ratioBound = sampling.Ratio >= 1 ? long.MaxValue : sampling.Ratio <= 0 ? long.MinValue : (long)(sampling.Ratio * long.MaxValue);
    }

    public ActivitySource Source => _source;

    public TraceSampling Sampling => _sampling;

    public bool PropagateUpstream { get; }

    /// <summary>The request span for these headers, or null when the request is not sampled.</summary>
    internal Activity? StartRequest(HeaderList headers)
    {
        if (!_source.HasListeners())
        {
            return null;
        }

        var hasParent = headers.TryGetValue(s_traceParent, out var traceParent) && IsValidTraceParent(traceParent);
        if (!IsSampled(hasParent, traceParent))
        {
            return null;
        }

        // Sampled: only now the ids become objects (ActivityTraceId holds a string).
        ActivityContext parent = default;
        if (hasParent)
        {
            var state = headers.TryGetValue(s_traceState, out var stateBytes) && !stateBytes.IsEmpty ? Encoding.ASCII.GetString(stateBytes) : null;
            parent = new ActivityContext(
                ActivityTraceId.CreateFromUtf8String(traceParent.Slice(3, 32)),
                ActivitySpanId.CreateFromUtf8String(traceParent.Slice(36, 16)),
                IsSampledFlag(traceParent) ? ActivityTraceFlags.Recorded : ActivityTraceFlags.None,
                state,
                isRemote: true);
        }
        else if (Activity.Current is not null)
        {
            // No incoming trace: a new one, not a child of whatever the host had running (ASP.NET
            // Core's own request activity, which is not exported).
            Activity.Current = null;
        }

        return _source.StartActivity(RequestSpanName, ActivityKind.Server, parent);
    }

    /// <summary>A child of <paramref name="parent"/> (null when the request is not traced).</summary>
    internal Activity? StartChild(Activity? parent, string name, ActivityKind kind) =>
        parent is null ? null : _source.StartActivity(name, kind, parent.Context);

    private bool IsSampled(bool hasParent, ReadOnlySpan<byte> traceParent)
    {
        if (hasParent && _sampling.ParentBased)
        {
            return IsSampledFlag(traceParent);
        }

        if (_ratioBound == long.MaxValue || _ratioBound == long.MinValue)
        {
            return _ratioBound == long.MaxValue;
        }

        if (!hasParent)
        {
            // A new trace: its id will be random, so a random draw decides as the id would.
            return Random.Shared.NextDouble() < _sampling.Ratio;
        }

        // The trace id's first 8 bytes, big-endian: its first 16 hex digits.
        if (!Utf8Parser.TryParse(traceParent.Slice(3, 16), out ulong high, out _, 'x'))
        {
            return false;
        }

        var value = unchecked((long)high);
        return (value == long.MinValue ? long.MaxValue : Math.Abs(value)) < _ratioBound;
    }

    private static bool IsSampledFlag(ReadOnlySpan<byte> traceParent) => (HexValue(traceParent[54]) & 1) != 0;

    /// <summary>
    /// W3C Trace Context <c>traceparent</c>: <c>version-traceid-spanid-flags</c>, lower-case hex,
    /// ids not all zero, version <c>ff</c> invalid, later versions may append fields after a dash.
    /// </summary>
    internal static bool IsValidTraceParent(ReadOnlySpan<byte> value)
    {
        if (value.Length < 55 || value[2] != '-' || value[35] != '-' || value[52] != '-'
            || !IsLowerHex(value[..2]) || (value[0] == 'f' && value[1] == 'f')
            || (value.Length > 55 && ((value[0] == '0' && value[1] == '0') || value[55] != '-')))
        {
            return false;
        }

        var trace = value.Slice(3, 32);
        var span = value.Slice(36, 16);
        return IsLowerHex(trace) && IsLowerHex(span) && IsLowerHex(value.Slice(53, 2)) && !IsAllZeros(trace) && !IsAllZeros(span);
    }

    /// <summary>Length of <see cref="FormatTraceParent"/>'s output.</summary>
    internal const int TraceParentLength = 55;

    /// <summary>Writes <c>00-traceid-spanid-flags</c> for <paramref name="span"/> (version 00, 55 bytes).</summary>
    internal static void FormatTraceParent(Activity span, Span<byte> destination)
    {
        Span<byte> raw = stackalloc byte[16];
        "00-"u8.CopyTo(destination);
        span.TraceId.CopyTo(raw);
        Convert.TryToHexStringLower(raw, destination.Slice(3, 32), out _);
        destination[35] = (byte)'-';
        span.SpanId.CopyTo(raw[..8]);
        Convert.TryToHexStringLower(raw[..8], destination.Slice(36, 16), out _);
        destination[52] = (byte)'-';
        destination[53] = (byte)'0';
        destination[54] = (span.ActivityTraceFlags & ActivityTraceFlags.Recorded) != 0 ? (byte)'1' : (byte)'0';
    }

    private static bool IsLowerHex(ReadOnlySpan<byte> value)
    {
        foreach (var b in value)
        {
            if (b is not ((>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f')))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsAllZeros(ReadOnlySpan<byte> value) => !value.ContainsAnyExcept((byte)'0');

    private static int HexValue(byte b) => b <= '9' ? b - '0' : b - 'a' + 10;
}
