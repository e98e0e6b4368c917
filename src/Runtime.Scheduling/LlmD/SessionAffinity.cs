using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Text;
using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;

namespace Runtime.Scheduling.LlmD;

/// <summary>
/// A plugin that sets a header on the response from the endpoint that served it (llm-d's
/// <c>ResponseHeaderProcessor</c>): the request path calls it when the response headers arrive.
/// </summary>
internal interface IResponseHeaderWriter : Runtime.Plugins.IPlugin
{
    /// <summary>The header name, lower-case UTF-8.</summary>
    ReadOnlySpan<byte> HeaderName { get; }

    /// <summary>
    /// Writes the header value for this request into <paramref name="destination"/>: <paramref name="served"/> is the
    /// endpoint that answered, <paramref name="result"/> what every profile picked. Returns its length, 0 for no header.
    /// </summary>
    int WriteValue(SchedulingResult result, EndpointState served, Span<byte> destination);
}

/// <summary>
/// The session affinity both <c>session-affinity-scorer</c> and <c>session-affinity-filter</c> apply
/// (llm-d v0.10). <c>encoded_endpoint_header</c> (default): the request header (default
/// <c>x-session-token</c>) holds base64 of the endpoint's name, which every response carries back.
/// Tokens of the Go router (base64 of <c>namespace/name</c>) are honoured by their name part.
/// <c>session_id</c>: the first non-empty header of <c>sources</c> (default <c>x-session-id</c>) names a
/// session bound server-side to the endpoint that served it; an unused binding expires after
/// <c>evictionTtlSeconds</c>; a binding whose endpoint is no longer a candidate moves to the new pick.
/// </summary>
/// <remarks>
/// <c>profileName</c> (llm-d's prefill/decode setup: one instance per profile, each with its own header):
/// the instance writes, or binds the session to, the first pick of that profile in the request's result
/// instead of the serving endpoint; when that profile did not run for the request (a decode-only request
/// has no prefill pick) it writes no header and binds nothing, as llm-d's <c>ResolvePodToWrite</c> and
/// <c>pickedPodName</c> do. Without a profileName it uses the serving endpoint (token) or the primary pick
/// (session_id). Request attributes as session sources (llm-d's <c>attribute</c>) are not published by
/// any plugin of this build, so such a source never yields an id.
/// Lookups allocate nothing: tokens are decoded on the stack and session ids looked up by span.
/// </remarks>
internal sealed class SessionAffinity
{
    private const int MaxTokenBytes = 512;

    private readonly byte[] _header;
    private readonly bool _sessionIdStrategy;
    private readonly byte[][] _sources;
    private readonly string? _profile;
    private readonly long _ttlTicks;
    private readonly long _sweepTicks;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Binding> _bindings = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Binding>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private long _nextSweep;

    public SessionAffinity(SessionAffinityParameters parameters, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _time = time;
        _header = Encoding.UTF8.GetBytes(parameters.EffectiveHeader);
        _sessionIdStrategy = parameters.Strategy == SessionAffinityParameters.SessionId;
        var config = parameters.SessionIdConfig;
        var sources = config?.Sources is { Count: > 0 } list ? list : [new SessionIdSource { Header = SessionAffinityParameters.DefaultSessionIdHeader }];
        _sources = [.. sources.Where(s => !string.IsNullOrEmpty(s.Header)).Select(s => Encoding.UTF8.GetBytes(s.Header!.Trim().ToLowerInvariant()))];
        _profile = string.IsNullOrEmpty(parameters.ProfileName) ? null : parameters.ProfileName;
        var ttl = config?.EvictionTtlSeconds is > 0 and var t ? t : SessionAffinityParameters.DefaultEvictionTtlSeconds;
        var sweep = config?.EvictionSweepSeconds is > 0 and var s ? s : SessionAffinityParameters.DefaultEvictionSweepSeconds;
        _ttlTicks = (long)(ttl * time.TimestampFrequency);
        _sweepTicks = (long)(sweep * time.TimestampFrequency);
        _nextSweep = time.GetTimestamp() + _sweepTicks;
        _lookup = _bindings.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public ReadOnlySpan<byte> Header => _header;

    public bool WritesToken => !_sessionIdStrategy;

    /// <summary>Sessions currently bound (session_id strategy).</summary>
    public int Bindings => _bindings.Count;

    /// <summary>The index of the candidate the request's session is pinned to, or -1.</summary>
    public int Find(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates)
    {
        return _sessionIdStrategy ? FindBound(context, request, candidates) : FindByToken(request, candidates);
    }

    private int FindByToken(SchedulingRequest request, ReadOnlySpan<EndpointState> candidates)
    {
        if (request.Headers is not { } headers || !headers.TryGetValue(_header, out var token) || token.IsEmpty || token.Length > MaxTokenBytes * 4 / 3)
        {
            return -1;
        }

        Span<byte> decoded = stackalloc byte[MaxTokenBytes];
        if (Base64.DecodeFromUtf8(token, decoded, out _, out var length) != OperationStatus.Done)
        {
            return -1;
        }

        Span<char> name = stackalloc char[MaxTokenBytes];
        if (!Encoding.UTF8.TryGetChars(decoded[..length], name, out var chars))
        {
            return -1;
        }

        var wanted = name[..chars];
        var index = IndexOfName(candidates, wanted);
        var slash = wanted.LastIndexOf('/');
        return index >= 0 || slash < 0 ? index : IndexOfName(candidates, wanted[(slash + 1)..]);
    }

    private int FindBound(SchedulingContext context, SchedulingRequest request, ReadOnlySpan<EndpointState> candidates)
    {
        Span<char> id = stackalloc char[MaxTokenBytes];
        if (!TryGetSessionId(request, id, out var length) || !_lookup.TryGetValue(id[..length], out var binding))
        {
            return -1;
        }

        var index = IndexOfName(candidates, binding.Endpoint);
        context.SetMark(this, index >= 0 ? 1 : 0);
        return index;
    }

    /// <summary>session_id: binds the session to the pick (or refreshes it), moving it only when its endpoint was not a candidate.</summary>
    public void PreRequest(SchedulingContext context, SchedulingRequest request, SchedulingResult result)
    {
        if (!_sessionIdStrategy || Target(result, result.Count > 0 ? result.Primary : null) is not { } pick)
        {
            return;
        }

        var now = _time.GetTimestamp();
        Sweep(now);
        Span<char> id = stackalloc char[MaxTokenBytes];
        if (!TryGetSessionId(request, id, out var length))
        {
            return;
        }

        var picked = pick.Endpoint.Name;
        if (!_lookup.TryGetValue(id[..length], out var binding))
        {
            _bindings.TryAdd(new string(id[..length]), new Binding(picked, now));
            return;
        }

        if (string.Equals(binding.Endpoint, picked, StringComparison.Ordinal))
        {
            binding.Touch(now);
        }
        else if (context.TryGetMark(this, out var present) && present == 0)
        {
            _lookup[id[..length]] = new Binding(picked, now);
        }
    }

    /// <summary>The endpoint this instance speaks for: its profile's first pick when it names one, else <paramref name="unnamed"/>.</summary>
    private EndpointState? Target(SchedulingResult result, EndpointState? unnamed) => _profile is null ? unnamed : result.PickOf(_profile);

    /// <summary>encoded_endpoint_header: base64 of the name of the serving endpoint, or of the named profile's pick.</summary>
    public int WriteToken(SchedulingResult result, EndpointState served, Span<byte> destination)
    {
        if (!WritesToken || Target(result, served) is not { } pod)
        {
            return 0;
        }

        var name = pod.Endpoint.Name;
        Span<byte> utf8 = stackalloc byte[MaxTokenBytes];
        if (!Encoding.UTF8.TryGetBytes(name, utf8, out var length) || Base64.GetMaxEncodedToUtf8Length(length) > destination.Length)
        {
            return 0;
        }

        Base64.EncodeToUtf8(utf8[..length], destination, out _, out var written);
        return written;
    }

    private bool TryGetSessionId(SchedulingRequest request, Span<char> buffer, out int length)
    {
        length = 0;
        if (request.Headers is not { } headers)
        {
            return false;
        }

        foreach (var source in _sources)
        {
            if (headers.TryGetValue(source, out var value) && value.Trim(" \t"u8) is { IsEmpty: false } trimmed && trimmed.Length <= buffer.Length
                && Encoding.UTF8.TryGetChars(trimmed, buffer, out length))
            {
                return true;
            }
        }

        return false;
    }

    private void Sweep(long now)
    {
        var due = Volatile.Read(ref _nextSweep);
        if (now < due || Interlocked.CompareExchange(ref _nextSweep, now + _sweepTicks, due) != due)
        {
            return;
        }

        foreach (var (key, binding) in _bindings)
        {
            if (now - binding.LastSeen > _ttlTicks)
            {
                _bindings.TryRemove(new KeyValuePair<string, Binding>(key, binding));
            }
        }
    }

    private static int IndexOfName(ReadOnlySpan<EndpointState> candidates, ReadOnlySpan<char> name)
    {
        for (var i = 0; i < candidates.Length; i++)
        {
            if (name.SequenceEqual(candidates[i].Endpoint.Name))
            {
                return i;
            }
        }

        return -1;
    }

    private sealed class Binding(string endpoint, long lastSeen)
    {
        private long _lastSeen = lastSeen;

        public string Endpoint { get; } = endpoint;

        public long LastSeen => Volatile.Read(ref _lastSeen);

        public void Touch(long now) => Volatile.Write(ref _lastSeen, now);
    }
}
