using System.Text;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Simulation;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// llm-d v0.10's <c>--allow-experimental-plugins</c> through the AOT binary: a config with an Alpha
/// plugin type (llm-d's <c>utilization-filter</c>) is refused without the flag, with llm-d's
/// message, by <c>serve</c> and <c>validate</c>; with it, the filter loads and routes.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class ExperimentalPluginTests : IAsyncLifetime
{
    private const string Message = "plugin 'not-busy' (type: 'utilization-filter') has Alpha stability level, but command line flag --allow-experimental-plugins is not set";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    private const string Config = """
        apiVersion: llm-d.ai/v1alpha1
        kind: EndpointPickerConfig
        plugins:
        - name: not-busy
          type: utilization-filter
          parameters:
            conditions:
            - {metric: waiting-queue, maxValue: 4}
        - type: random-picker
        schedulingProfiles:
        - name: default
          plugins:
          - pluginRef: not-busy
          - pluginRef: random-picker
        """;

    private SimulatorFarm _farm = null!;

    private static string Binary => Environment.GetEnvironmentVariable(BinaryRuntimeServer.BinaryVariable)
        ?? throw new InvalidOperationException($"{BinaryRuntimeServer.BinaryVariable} is not set; publish the binary first.");

    public async Task InitializeAsync() => _farm = await SimulatorFarm.StartAsync(2, new SimulatorOptions());

    public async Task DisposeAsync() => await _farm.DisposeAsync();

    [Fact]
    public async Task Serve_AlphaPluginWithoutTheFlag_RefusesToStartWithLlmDsMessage()
    {
        await using var process = RuntimeProcess.Start(Binary, ["serve", "--grpc-port", "0", "--endpoints", _farm[0].Address, "--config-text", Config]);

        Assert.Equal(1, await process.WaitForExitAsync(s_timeout));
        Assert.Contains($"plugins[0].type: {Message}", process.Output, StringComparison.Ordinal);
        Assert.Contains("refusing to start: the configuration is invalid", process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_AlphaPluginWithTheFlag_LoadsAndFiltersTheBusyEndpoint()
    {
        _farm[0].Overrides = new MetricsOverrides { Waiting = 10 };
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve",
            ["--allow-experimental-plugins", "--endpoints", string.Join(",", _farm.Servers.Select(s => s.Address)), "--config-text", Config]);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await _farm.WaitForScrapesAsync(2, s_timeout);

        // Without the filter the random picker would spread these over both simulators.
        var picks = new HashSet<string>();
        for (var i = 0; i < 16; i++)
        {
            var body = Encoding.UTF8.GetBytes($$"""{"model":"m","messages":[{"role":"user","content":"{{i}}"}]}""");
            var result = (await client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [body] }, timeout: s_timeout)).EnsureValid();
            picks.Add(result.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders.Single(h => h.Header.Key == "x-gateway-destination-endpoint").Header.RawValue.ToStringUtf8());
        }

        Assert.Equal([_farm[1].Address], picks);
        Assert.DoesNotContain("not enforced", server.Process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_AlphaPlugin_RefusedWithoutTheFlagAcceptedWithIt()
    {
        await using var refused = RuntimeProcess.Start(Binary, ["validate", "--config-text", Config]);
        Assert.Equal(1, await refused.WaitForExitAsync(s_timeout));
        Assert.Contains($"<config-text>:5:3: plugins[0].type: {Message}", refused.Output, StringComparison.Ordinal);

        await using var accepted = RuntimeProcess.Start(Binary, ["validate", "--allow-experimental-plugins", "--config-text", Config]);
        Assert.Equal(0, await accepted.WaitForExitAsync(s_timeout));
        Assert.Contains("<config-text>: valid EndpointPickerConfig (llm-d.ai/v1alpha1)", accepted.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plugins_ListsUtilizationFilterAsAlpha()
    {
        await using var process = RuntimeProcess.Start(Binary, ["plugins"]);

        Assert.Equal(0, await process.WaitForExitAsync(s_timeout));
        Assert.Matches(@"\nutilization-filter +filter +Alpha ", process.Output);
    }
}
