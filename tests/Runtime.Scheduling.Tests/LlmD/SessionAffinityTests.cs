using System.Text;
using Microsoft.Extensions.Time.Testing;
using Runtime.Endpoints;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Scheduling.Framework;
using Runtime.Scheduling.LlmD;
using Runtime.Scheduling.Tests.Support;
using static Runtime.Scheduling.Tests.LlmD.LlmDTestSupport;

namespace Runtime.Scheduling.Tests.LlmD;

public class SessionAffinityTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly SchedulingContext _context = new();

    private static SchedulingRequest Request(params (string Name, string Value)[] headers)
    {
        var request = TestEndpoints.Request("hello");
        request.Headers = new TestHeaders(headers.ToDictionary(h => h.Name, h => h.Value));
        return request;
    }

    private double[] Score(SessionAffinityScorer scorer, SchedulingRequest request, EndpointState[] pool)
    {
        _context.BeginRequest();
        var scores = new double[pool.Length];
        scorer.Score(_context, request, pool, scores);
        return scores;
    }

    [Fact]
    public void Scorer_TokenHeader_ScoresThePinnedEndpointOnly()
    {
        var pool = TestEndpoints.States(3);
        var scorer = new SessionAffinityScorer("s", new SessionAffinityParameters(), _time);

        Assert.Equal([0.0, 1.0, 0.0], Score(scorer, Request(("x-session-token", Token("pod-001"))), pool));
        Assert.Equal([0.0, 0.0, 0.0], Score(scorer, Request(), pool));
        Assert.Equal([0.0, 0.0, 0.0], Score(scorer, Request(("x-session-token", "not base64!")), pool));
    }

    [Fact]
    public void Scorer_GoRouterToken_NamespaceIsIgnored()
    {
        var pool = TestEndpoints.States(3);
        var scorer = new SessionAffinityScorer("s", new SessionAffinityParameters(), _time);

        Assert.Equal([0.0, 0.0, 1.0], Score(scorer, Request(("x-session-token", Token("default/pod-002"))), pool));
    }

    [Fact]
    public void Scorer_WritesTheServingEndpointsToken_UnderTheConfiguredHeader()
    {
        var pool = TestEndpoints.States(2);
        var scorer = new SessionAffinityScorer("s", Bind(BuiltInParameterBinders.SessionAffinity, """{"encodedEndpointHeaderConfig": {"header": " X-My-Session "}}"""), _time);
        var value = new byte[256];

        var length = scorer.WriteValue(Served(pool[1]), pool[1], value);

        Assert.Equal("x-my-session", Encoding.ASCII.GetString(scorer.HeaderName));
        Assert.Equal(Token("pod-001"), Encoding.ASCII.GetString(value, 0, length));
        Assert.Equal([0.0, 1.0], Score(scorer, Request(("x-my-session", Token("pod-001"))), pool));
    }

    [Fact]
    public void Filter_KeepsOnlyThePinnedEndpoint_AllWhenItIsGone()
    {
        var pool = TestEndpoints.States(3);
        var filter = new SessionAffinityFilter("f", new SessionAffinityParameters(), _time);

        var candidates = pool.ToArray();
        Assert.Equal(1, filter.Filter(_context, Request(("x-session-token", Token("pod-002"))), candidates));
        Assert.Same(pool[2], candidates[0]);
        Assert.Equal(3, filter.Filter(_context, Request(("x-session-token", Token("pod-999"))), pool.ToArray()));
        Assert.Equal(3, filter.Filter(_context, Request(), pool.ToArray()));
    }

    [Fact]
    public void SessionId_BindsOnFirstPick_SticksThenExpires()
    {
        var pool = TestEndpoints.States(3);
        var scorer = new SessionAffinityScorer("s", Bind(BuiltInParameterBinders.SessionAffinity, """{"strategy": "session_id", "sessionIdConfig": {"evictionTtlSeconds": 60, "evictionSweepSeconds": 1}}"""), _time);
        var request = Request(("x-session-id", "conversation-7"));

        Assert.Equal([0.0, 0.0, 0.0], Score(scorer, request, pool));
        Pick(scorer, request, pool[2]);
        Assert.Equal([0.0, 0.0, 1.0], Score(scorer, request, pool));
        Assert.Equal(0, scorer.WriteValue(Served(pool[2]), pool[2], new byte[64]));

        // A different pick while the bound endpoint is a candidate does not move the session.
        Pick(scorer, request, pool[0]);
        Assert.Equal([0.0, 0.0, 1.0], Score(scorer, request, pool));

        _time.Advance(TimeSpan.FromSeconds(61));
        Pick(scorer, Request(("x-session-id", "other")), pool[1]);
        Assert.Equal([0.0, 0.0, 0.0], Score(scorer, request, pool));
    }

    [Fact]
    public void SessionId_BoundEndpointGone_RebindsToTheNewPick()
    {
        var pool = TestEndpoints.States(3);
        var scorer = new SessionAffinityScorer("s", Bind(BuiltInParameterBinders.SessionAffinity, """{"strategy": "session_id"}"""), _time);
        var request = Request(("x-session-id", "s1"));
        Score(scorer, request, pool);
        Pick(scorer, request, pool[0]);

        Assert.Equal([0.0, 0.0], Score(scorer, request, pool[1..]));
        Pick(scorer, request, pool[1]);

        Assert.Equal([0.0, 1.0, 0.0], Score(scorer, request, pool));
    }

    private void Pick(SessionAffinityScorer scorer, SchedulingRequest request, EndpointState picked)
    {
        var result = new SchedulingResult();
        result.Add(picked);
        result.Status = SchedulingStatus.Picked;
        scorer.PreRequest(_context, request, result);
    }

    private static SchedulingResult Served(EndpointState primary, EndpointState? prefill = null)
    {
        var result = new SchedulingResult();
        result.Reset();
        result.Add(primary);
        result.Status = SchedulingStatus.Picked;
        result.PrimaryProfile = "decode";
        if (prefill is not null)
        {
            result.Prefill = prefill;
            result.PrefillProfile = "prefill";
        }

        return result;
    }

    private static string? Written(IResponseHeaderWriter writer, SchedulingResult result, EndpointState served)
    {
        var value = new byte[256];
        var length = writer.WriteValue(result, served, value);
        return length == 0 ? null : Encoding.ASCII.GetString(value, 0, length);
    }

    [Fact]
    public void ProfileName_TokenIsThatProfilesPick_NoneWhenTheProfileDidNotRun()
    {
        var pool = TestEndpoints.States(3);
        var prefill = new SessionAffinityScorer("p", Bind(BuiltInParameterBinders.SessionAffinity, """{"profileName": "prefill", "encodedEndpointHeaderConfig": {"header": "x-session-token-prefill"}}"""), _time);
        var decode = new SessionAffinityScorer("d", new SessionAffinityParameters(), _time);
        var namedDecode = new SessionAffinityFilter("n", Bind(BuiltInParameterBinders.SessionAffinity, """{"profileName": "decode"}"""), _time);
        var disaggregated = Served(pool[0], prefill: pool[2]);

        Assert.Equal("x-session-token-prefill", Encoding.ASCII.GetString(prefill.HeaderName));
        Assert.Equal(Token("pod-002"), Written(prefill, disaggregated, pool[0]));
        Assert.Equal(Token("pod-000"), Written(decode, disaggregated, pool[0]));
        Assert.Equal(Token("pod-000"), Written(namedDecode, disaggregated, pool[1]));

        // Decode-only request: the prefill profile did not run, so its instance writes nothing; a profile that does not exist neither.
        Assert.Null(Written(prefill, Served(pool[1]), pool[1]));
        Assert.Equal(Token("pod-001"), Written(decode, Served(pool[1]), pool[1]));
        var unknown = new SessionAffinityScorer("u", Bind(BuiltInParameterBinders.SessionAffinity, """{"profileName": "encode"}"""), _time);
        Assert.Null(Written(unknown, disaggregated, pool[0]));

        // The next turn sends the prefill token back under its own header: the prefill instance pins that endpoint.
        Assert.Equal([0.0, 0.0, 1.0], Score(prefill, Request(("x-session-token-prefill", Token("pod-002")), ("x-session-token", Token("pod-000"))), pool));
        Assert.Equal([1.0, 0.0, 0.0], Score(decode, Request(("x-session-token-prefill", Token("pod-002")), ("x-session-token", Token("pod-000"))), pool));
    }

    [Fact]
    public void ProfileName_SessionId_BindsThatProfilesPick_NothingWhenItDidNotRun()
    {
        var pool = TestEndpoints.States(3);
        var prefill = new SessionAffinityScorer("p", Bind(BuiltInParameterBinders.SessionAffinity, """{"strategy": "session_id", "profileName": "prefill"}"""), _time);
        var decode = new SessionAffinityScorer("d", Bind(BuiltInParameterBinders.SessionAffinity, """{"strategy": "session_id"}"""), _time);

        var decodeOnly = Request(("x-session-id", "short-chat"));
        prefill.PreRequest(_context, decodeOnly, Served(pool[1]));
        decode.PreRequest(_context, decodeOnly, Served(pool[1]));
        Assert.Equal(0, prefill.Affinity.Bindings);
        Assert.Equal(1, decode.Affinity.Bindings);

        var request = Request(("x-session-id", "long-chat"));
        var disaggregated = Served(pool[0], prefill: pool[2]);
        prefill.PreRequest(_context, request, disaggregated);
        decode.PreRequest(_context, request, disaggregated);
        Assert.Null(Written(prefill, disaggregated, pool[0]));

        Assert.Equal([0.0, 0.0, 1.0], Score(prefill, request, pool));
        Assert.Equal([1.0, 0.0, 0.0], Score(decode, request, pool));
    }

    [Fact]
    public void ProfileName_WritingAndBinding_AllocateNothing()
    {
        var pool = TestEndpoints.States(3);
        var token = new SessionAffinityFilter("p", Bind(BuiltInParameterBinders.SessionAffinity, """{"profileName": "prefill"}"""), _time);
        var bound = new SessionAffinityFilter("b", Bind(BuiltInParameterBinders.SessionAffinity, """{"strategy": "session_id", "profileName": "prefill"}"""), _time);
        var request = TestEndpoints.Request("hello");
        request.Headers = new OneHeader("x-session-id"u8.ToArray(), "chat"u8.ToArray());
        var result = Served(pool[0], prefill: pool[2]);
        var value = new byte[256];
        bound.PreRequest(_context, request, result);
        token.WriteValue(result, pool[0], value);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            token.WriteValue(result, pool[0], value);
            bound.PreRequest(_context, request, result);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(Token("pod-002"), Encoding.ASCII.GetString(value, 0, token.WriteValue(result, pool[0], value)));
        Assert.Equal(1, bound.Affinity.Bindings);
    }

    /// <summary>One request header, read without allocating (as the request path's header view).</summary>
    private sealed class OneHeader(byte[] name, byte[] value) : IRequestHeaders
    {
        public bool TryGetValue(ReadOnlySpan<byte> wanted, out ReadOnlySpan<byte> found)
        {
            found = wanted.SequenceEqual(name) ? value : default;
            return wanted.SequenceEqual(name);
        }
    }

    [Theory]
    [InlineData("""{"strategy": "sticky"}""", "strategy must be \"encoded_endpoint_header\" or \"session_id\", got \"sticky\"")]
    [InlineData("""{"strategy": "session_id", "sessionIdConfig": {"sources": [{"header": "a", "attribute": "b"}]}}""", "exactly one of header or attribute must be set")]
    [InlineData("""{"strategy": "session_id", "sessionIdConfig": {"evictionTtlSeconds": -1}}""", "evictionTtlSeconds must be > 0, got -1")]
    [InlineData("""{"strategy": "session_id", "sessionIdConfig": {"evictionSweepSeconds": -2}}""", "evictionSweepSeconds must be > 0, got -2")]
    [InlineData("""{"header": "x"}""", "header")]
    public void BadParameters_AreErrors(string json, string expected)
    {
        Assert.Contains(Errors(BuiltInParameterBinders.SessionAffinity, json), e => e.Contains(expected, StringComparison.Ordinal));
    }
}
