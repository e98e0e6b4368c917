using System.Text;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Simulation;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// llm-d v0.10's session affinity with prefill/decode through the AOT binary: one session-affinity-filter per
/// profile, the prefill one with <c>profileName: prefill</c> and header <c>x-session-token-prefill</c>. The
/// response carries a token for each pod, and a later turn sending both back gets the same decode destination
/// and the same <c>x-prefiller-host-port</c>.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class DisaggSessionAffinityTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(15);

    private const string Config = """
        apiVersion: llm-d.ai/v1alpha1
        kind: EndpointPickerConfig
        plugins:
        - type: prefill-filter
        - type: decode-filter
        - type: queue-scorer
        - type: max-score-picker
        - type: prefix-based-pd-decider
          parameters:
            nonCachedTokens: 16
        - type: disagg-profile-handler
          parameters:
            deciders:
              prefill: prefix-based-pd-decider
        - name: session-affinity-decode
          type: session-affinity-filter
        - name: session-affinity-prefill
          type: session-affinity-filter
          parameters:
            profileName: prefill
            encodedEndpointHeaderConfig:
              header: x-session-token-prefill
        schedulingProfiles:
        - name: prefill
          plugins:
          - pluginRef: prefill-filter
          - pluginRef: session-affinity-prefill
          - pluginRef: queue-scorer
          - pluginRef: max-score-picker
        - name: decode
          plugins:
          - pluginRef: decode-filter
          - pluginRef: session-affinity-decode
          - pluginRef: queue-scorer
          - pluginRef: max-score-picker
        """;

    private static byte[] Chat(string content) => Encoding.UTF8.GetBytes(
        $$"""{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"{{content}}"}]}""");

    /// <summary>About 2 KB nobody has sent before: far over the decider's 16 uncached tokens.</summary>
    private static string LongText(int seed) => string.Concat(Enumerable.Range(0, 300).Select(i => $"t{seed}w{i} "));

    private sealed record Turn(string Destination, string? Prefiller, string? DecodeToken, string? PrefillToken);

    private static async Task<Turn> ExchangeAsync(EnvoyExtProcClient client, string content, string? decodeToken = null, string? prefillToken = null)
    {
        var headers = ExtProcMessages.DefaultRequestHeaders.ToList();
        if (decodeToken is not null)
        {
            headers.Add(new("x-session-token", decodeToken));
        }

        if (prefillToken is not null)
        {
            headers.Add(new("x-session-token-prefill", prefillToken));
        }

        var request = new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(headers: [.. headers]), BodyChunks = [Chat(content)] };
        var response = new FullDuplexPhase { Headers = ExtProcMessages.ResponseHeaders(), BodyChunks = [Encoding.UTF8.GetBytes("""{"choices":[]}""")] };
        var result = (await client.RunFullDuplexAsync(request, response, timeout: s_timeout)).EnsureValid();
        Assert.True(result.ImmediateResponse is null, result.Describe());
        var set = result.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders.ToDictionary(h => h.Header.Key, h => h.Header.RawValue.ToStringUtf8(), StringComparer.OrdinalIgnoreCase);
        var written = result.Response!.HeadersResponse!.ResponseHeaders.Response.HeaderMutation.SetHeaders.ToDictionary(h => h.Header.Key, h => h.Header.RawValue.ToStringUtf8(), StringComparer.OrdinalIgnoreCase);
        return new Turn(set["x-gateway-destination-endpoint"], set.GetValueOrDefault("x-prefiller-host-port"), written.GetValueOrDefault("x-session-token"), written.GetValueOrDefault("x-session-token-prefill"));
    }

    private static string Decode(string token) => Encoding.UTF8.GetString(Convert.FromBase64String(token));

    [Fact]
    public async Task PrefillProfileInstance_TokenPinsThePrefillPod_DecodeInstanceTheDecodePod()
    {
        await using var farm = await SimulatorFarm.StartAsync(
        [
            new SimulatorOptions { Name = "prefill-a", Role = "prefill" },
            new SimulatorOptions { Name = "decode-a", Role = "decode" },
            new SimulatorOptions { Name = "prefill-b", Role = "prefill" },
            new SimulatorOptions { Name = "decode-b", Role = "decode" },
            new SimulatorOptions { Name = "prefill-c", Role = "prefill" },
            new SimulatorOptions { Name = "decode-c", Role = "decode" },
        ]);
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve",
            ["--allow-experimental-plugins", "--endpoints", string.Join(",", farm.Servers.Select(s => s.EndpointEntry)), "--config-text", Config]);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);

        var first = await ExchangeAsync(client, LongText(1));
        Assert.NotNull(first.Prefiller);
        Assert.NotNull(first.PrefillToken);
        Assert.NotNull(first.DecodeToken);
        Assert.Equal(first.Destination, Decode(first.DecodeToken!));
        Assert.Equal(first.Prefiller, Decode(first.PrefillToken!));

        // Later turns with new text (so each is disaggregated again) keep both pods.
        for (var turn = 0; turn < 6; turn++)
        {
            var next = await ExchangeAsync(client, LongText(10 + turn), first.DecodeToken, first.PrefillToken);
            Assert.Equal(first.Destination, next.Destination);
            Assert.Equal(first.Prefiller, next.Prefiller);
            Assert.Equal(first.PrefillToken, next.PrefillToken);
        }

        // A decode-only request: the prefill profile did not run, so only the decode token comes back.
        var decodeOnly = await ExchangeAsync(client, "hi", first.DecodeToken, first.PrefillToken);
        Assert.Null(decodeOnly.Prefiller);
        Assert.Equal(first.Destination, decodeOnly.Destination);
        Assert.Equal(first.DecodeToken, decodeOnly.DecodeToken);
        Assert.Null(decodeOnly.PrefillToken);
    }
}
