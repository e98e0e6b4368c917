using System.Text;
using Runtime.Endpoints;
using Runtime.Plugins;
using Runtime.Scheduling.LlmD;
using Runtime.Scheduling.Tests.LlmD;
using Runtime.Scheduling.Tests.Support;

namespace Runtime.Scheduling.Tests.Disaggregation;

/// <summary>
/// llm-d's prefill/decode session affinity: one session-affinity instance per profile, the prefill one with
/// <c>profileName: prefill</c> and its own header, through the real config loader and disagg-profile-handler.
/// </summary>
public class DisaggSessionAffinityTests
{
    private readonly DisaggTestSupport _support = new();

    /// <summary>The P/D config with a session-affinity-filter in each profile.</summary>
    private static string Config(string decodeParameters, string prefillParameters) => DisaggTestSupport.PdConfig
        .Replace("- type: max-score-picker\n", $"""
            - type: max-score-picker
            - name: affinity-decode
              type: session-affinity-filter
              parameters: {decodeParameters}
            - name: affinity-prefill
              type: session-affinity-filter
              parameters: {prefillParameters}

            """, StringComparison.Ordinal)
        .Replace("  - pluginRef: prefill-filter\n", "  - pluginRef: prefill-filter\n  - pluginRef: affinity-prefill\n", StringComparison.Ordinal)
        .Replace("  - pluginRef: decode-filter\n", "  - pluginRef: decode-filter\n  - pluginRef: affinity-decode\n", StringComparison.Ordinal);

    private (IScheduler Scheduler, IReadOnlyDictionary<string, IPlugin> Plugins) Build(string decodeParameters, string prefillParameters)
    {
        var (built, plugins) = _support.Build(Config(decodeParameters, prefillParameters), allowExperimental: true);
        Assert.True(built.IsValid, string.Join("; ", built.Errors));
        return (built.Scheduler!, plugins);
    }

    private static SchedulingRequest Request(string prompt, params (string Name, string Value)[] headers)
    {
        var request = TestEndpoints.Request(prompt);
        request.Headers = new TestHeaders(headers.ToDictionary(h => h.Name, h => h.Value));
        return request;
    }

    private static string? Written(IReadOnlyDictionary<string, IPlugin> plugins, string name, SchedulingResult result)
    {
        var writer = (IResponseHeaderWriter)plugins[name];
        var value = new byte[256];
        var length = writer.WriteValue(result, result.Primary, value);
        return length == 0 ? null : Encoding.ASCII.GetString(value, 0, length);
    }

    [Fact]
    public void TokenStrategy_PrefillInstanceWritesThePrefillPick_NextTurnsPinBothPods()
    {
        var (scheduler, plugins) = Build("{}", """{"profileName": "prefill", "encodedEndpointHeaderConfig": {"header": "x-session-token-prefill"}}""");
        var pool = _support.Pool("prefill", "decode", "prefill", "decode", "prefill", "decode");

        var first = DisaggTestSupport.Schedule(scheduler, Request(TestEndpoints.LongPrompt(11, 2048)), pool);
        Assert.NotNull(first.Prefill);
        var prefillToken = Written(plugins, "affinity-prefill", first);
        var decodeToken = Written(plugins, "affinity-decode", first);
        Assert.Equal(LlmDTestSupport.Token(first.Prefill!.Endpoint.Name), prefillToken);
        Assert.Equal(LlmDTestSupport.Token(first.Primary.Endpoint.Name), decodeToken);

        // Each later turn (new uncached text, so it is disaggregated again) lands on the same two pods.
        for (var turn = 0; turn < 4; turn++)
        {
            var next = DisaggTestSupport.Schedule(scheduler, Request(TestEndpoints.LongPrompt(20 + turn, 2048), ("x-session-token", decodeToken!), ("x-session-token-prefill", prefillToken!)), pool);
            Assert.Same(first.Primary, next.Primary);
            Assert.Same(first.Prefill, next.Prefill);
        }

        // A token naming another prefill pod moves only the prefill stage there.
        var other = pool.First(e => e.Endpoint.Labels["llm-d.ai/role"] == "prefill" && e != first.Prefill);
        var moved = DisaggTestSupport.Schedule(scheduler, Request(TestEndpoints.LongPrompt(30, 2048), ("x-session-token", decodeToken!), ("x-session-token-prefill", LlmDTestSupport.Token(other.Endpoint.Name))), pool);
        Assert.Same(other, moved.Prefill);
        Assert.Same(first.Primary, moved.Primary);
    }

    [Fact]
    public void TokenStrategy_DecodeOnlyRequest_PrefillInstanceWritesNothing()
    {
        var (scheduler, plugins) = Build("{}", """{"profileName": "prefill", "encodedEndpointHeaderConfig": {"header": "x-session-token-prefill"}}""");
        var pool = _support.Pool("prefill", "decode");

        var result = DisaggTestSupport.Schedule(scheduler, Request("hi"), pool);

        Assert.Null(result.Prefill);
        Assert.Null(Written(plugins, "affinity-prefill", result));
        Assert.Equal(LlmDTestSupport.Token("pod-1"), Written(plugins, "affinity-decode", result));
    }

    [Fact]
    public void SessionIdStrategy_PrefillInstanceBindsThePrefillPick()
    {
        var (scheduler, plugins) = Build("""{"strategy": "session_id"}""", """{"strategy": "session_id", "profileName": "prefill"}""");
        var pool = _support.Pool("prefill", "decode", "prefill", "decode", "prefill", "decode");

        var first = DisaggTestSupport.Schedule(scheduler, Request(TestEndpoints.LongPrompt(41, 2048), ("x-session-id", "chat-1")), pool);
        Assert.NotNull(first.Prefill);
        Assert.Equal(1, ((SessionAffinityFilter)plugins["affinity-prefill"]).Affinity.Bindings);

        for (var turn = 0; turn < 4; turn++)
        {
            var next = DisaggTestSupport.Schedule(scheduler, Request(TestEndpoints.LongPrompt(50 + turn, 2048), ("x-session-id", "chat-1")), pool);
            Assert.Same(first.Primary, next.Primary);
            Assert.Same(first.Prefill, next.Prefill);
        }

        // A decode-only session binds the decode instance only.
        DisaggTestSupport.Schedule(scheduler, Request("hi", ("x-session-id", "chat-2")), pool);
        Assert.Equal(1, ((SessionAffinityFilter)plugins["affinity-prefill"]).Affinity.Bindings);
        Assert.Equal(2, ((SessionAffinityFilter)plugins["affinity-decode"]).Affinity.Bindings);
    }
}
