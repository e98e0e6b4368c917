using System.Text;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Simulation;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// llm-d's prefill/decode disaggregation and data-parallel configs through the AOT binary, in front of
/// simulators labelled with <c>llm-d.ai/role</c> (or serving several ranks). Each decision is then sent on
/// to the simulator it names, with the headers the picker set, as the gateway would: the simulator records
/// the <c>x-prefiller-host-port</c> / <c>x-data-parallel-host-port</c> it received.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class DisaggregationTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(15);
    private static readonly HttpClient s_http = new() { Timeout = s_timeout };

    /// <summary>llm-d v0.10's deploy/config/sim-pd-epp-config.yaml, as its users copy it.</summary>
    private const string PdConfig = """
        apiVersion: llm-d.ai/v1alpha1
        kind: EndpointPickerConfig
        plugins:
        - type: approx-prefix-cache-producer
          parameters:
            blockSizeTokens: 16
            autoTune: false
            maxPrefixTokensToMatch: 16384
            lruCapacityPerServer: 31250
        - type: prefix-cache-scorer
        - type: queue-scorer
        - type: prefill-filter
        - type: decode-filter
        - type: max-score-picker
        - type: prefix-based-pd-decider
          parameters:
            nonCachedTokens: 16
        - type: disagg-profile-handler
          parameters:
            deciders:
              prefill: prefix-based-pd-decider
        schedulingProfiles:
        - name: prefill
          plugins:
          - pluginRef: prefill-filter
          - pluginRef: max-score-picker
          - pluginRef: prefix-cache-scorer
            weight: 2
          - pluginRef: queue-scorer
            weight: 1
        - name: decode
          plugins:
          - pluginRef: decode-filter
          - pluginRef: max-score-picker
          - pluginRef: prefix-cache-scorer
            weight: 2
          - pluginRef: queue-scorer
            weight: 1
        """;

    private static byte[] Chat(string content) => Encoding.UTF8.GetBytes(
        $$"""{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"{{content}}"}]}""");

    /// <summary>
    /// Content that makes the prompt (about 30 bytes of <c>messages</c> JSON around the content) 30 blocks of 64 bytes
    /// (16 tokens of 4 bytes) and half a block, so a repeat with a short tail leaves about 10 tokens uncached, well
    /// away from the 16-token threshold and from a block boundary.
    /// </summary>
    private static string LongText(int seed) => string.Concat(Enumerable.Range(0, 400).Select(i => $"w{seed}x{i} "))[..((30 * 64) - 30 + 32)];

    private static async Task<(string Destination, Dictionary<string, string> Set, List<string> Removed)> PickAsync(EnvoyExtProcClient client, byte[] body)
    {
        var request = new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [body] };
        var result = (await client.RunFullDuplexAsync(request, timeout: s_timeout)).EnsureValid();
        Assert.True(result.ImmediateResponse is null, result.Describe());
        var mutation = result.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation;
        var set = mutation.SetHeaders.ToDictionary(h => h.Header.Key, h => h.Header.RawValue.ToStringUtf8(), StringComparer.OrdinalIgnoreCase);
        return (set["x-gateway-destination-endpoint"], set, [.. mutation.RemoveHeaders]);
    }

    /// <summary>Sends the request on to the picked destination with the routing headers the picker set, as Envoy would.</summary>
    private static async Task ForwardAsync(string destination, Dictionary<string, string> set, byte[] body)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, $"http://{destination}/v1/chat/completions") { Content = new ByteArrayContent(body) };
        message.Content.Headers.ContentType = new("application/json");
        foreach (var name in new[] { "x-prefiller-host-port", "x-data-parallel-host-port" })
        {
            if (set.TryGetValue(name, out var value))
            {
                message.Headers.Add(name, value);
            }
        }

        using var response = await s_http.SendAsync(message);
        Assert.True(response.IsSuccessStatusCode, $"{destination}: {(int)response.StatusCode}");
    }

    [Fact]
    public async Task PdConfig_LongUncachedPromptPrefills_ShortAndCachedOnesDoNot()
    {
        await using var farm = await SimulatorFarm.StartAsync(
        [
            new SimulatorOptions { Name = "prefill-a", Role = "prefill" },
            new SimulatorOptions { Name = "decode-a", Role = "decode" },
            new SimulatorOptions { Name = "prefill-b", Role = "prefill" },
            new SimulatorOptions { Name = "decode-b", Role = "decode" },
        ]);
        var prefill = farm.Servers.Where(s => s.Options.Role == "prefill").ToArray();
        var decode = farm.Servers.Where(s => s.Options.Role == "decode").ToArray();
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--endpoints", string.Join(",", farm.Servers.Select(s => s.EndpointEntry)), "--config-text", PdConfig]);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);

        // A long prompt nobody has seen: decode destination, prefill pod named for its sidecar.
        var longBody = Chat(LongText(1));
        var (destination, set, _) = await PickAsync(client, longBody);
        var decoder = Assert.Single(decode, s => s.Address == destination);
        Assert.True(set.TryGetValue("x-prefiller-host-port", out var prefiller), server.Diagnostics);
        Assert.Contains(prefiller, prefill.Select(s => s.Address));
        await ForwardAsync(destination, set, longBody);
        Assert.Equal(prefiller, decoder.ReceivedRouting[^1].PrefillerHostPort);

        // The same long prefix again: the decode pod has it cached, so no separate prefill.
        var again = Chat(LongText(1) + "and then?");
        (destination, set, var removed) = await PickAsync(client, again);
        Assert.Equal(decoder.Address, destination);
        Assert.False(set.ContainsKey("x-prefiller-host-port"), "a cached prompt must not be disaggregated");
        Assert.Contains("x-prefiller-host-port", removed);
        await ForwardAsync(destination, set, again);
        Assert.Null(decoder.ReceivedRouting[^1].PrefillerHostPort);

        // A short prompt: decode only.
        var shortBody = Chat("hi");
        (destination, set, _) = await PickAsync(client, shortBody);
        Assert.Contains(destination, decode.Select(s => s.Address));
        Assert.False(set.ContainsKey("x-prefiller-host-port"));
        Assert.All(prefill, p => Assert.Empty(p.ReceivedRouting));
    }

    [Fact]
    public async Task DataParallelConfig_RankInHeader_RequestToPrimaryPort()
    {
        await using var farm = await SimulatorFarm.StartAsync([new SimulatorOptions { Name = "dp", DataParallelSize = 2 }]);
        Assert.Equal(2, farm.Count);
        var (rank0, rank1) = (farm[0], farm[1]);
        Assert.Equal((0, 1), (rank0.Options.Rank, rank1.Options.Rank));

        // llm-d v0.10's deploy/config/dp-epp-config.yaml with primaryPort at rank 0's port.
        var config = $"""
            apiVersion: llm-d.ai/v1alpha1
            kind: EndpointPickerConfig
            plugins:
            - type: prefix-cache-scorer
            - type: decode-filter
            - type: max-score-picker
            - type: data-parallel-profile-handler
              parameters:
                primaryPort: {rank0.Port}
            schedulingProfiles:
            - name: default
              plugins:
              - pluginRef: decode-filter
              - pluginRef: max-score-picker
              - pluginRef: prefix-cache-scorer
                weight: 2
            """;
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--endpoints", $"{rank0.EndpointEntry},{rank1.EndpointEntry}", "--config-text", config]);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);

        var ranks = new HashSet<string>();
        for (var i = 0; i < 24 && ranks.Count < 2; i++)
        {
            var body = Chat($"{Guid.NewGuid():N} request {i}");
            var (destination, set, _) = await PickAsync(client, body);
            Assert.Equal(rank0.Address, destination);
            ranks.Add(set["x-data-parallel-host-port"]);
            await ForwardAsync(destination, set, body);
            Assert.Equal(set["x-data-parallel-host-port"], rank0.ReceivedRouting[^1].DataParallelHostPort);
        }

        Assert.Equal(new HashSet<string> { rank0.Address, rank1.Address }, ranks);
    }

    [Fact]
    public async Task EncodeDecider_FailsValidationAsNotAvailable()
    {
        var config = PdConfig.Replace("      prefill: prefix-based-pd-decider", "      prefill: prefix-based-pd-decider\n      encode: mm", StringComparison.Ordinal);
        await using var process = RuntimeProcess.Start(
            Environment.GetEnvironmentVariable(BinaryRuntimeServer.BinaryVariable) ?? throw new InvalidOperationException("publish the binary first"),
            ["validate", "--config-text", config]);

        Assert.Equal(1, await process.WaitForExitAsync(s_timeout));
        Assert.Contains("encode/prefill/decode (E/P/D) disaggregation is not available in this build", process.Output, StringComparison.Ordinal);
    }
}
