using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Simulation;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// <c>--watch-config-file</c> through the AOT binary: three simulators whose metrics make the
/// queue scorer pick the first and the KV-cache scorer the third, so switching the profile's
/// scorer in the file shows in the picks. An edit, an invalid edit, a restart-only edit, a
/// flow-control edit applied to the running queues, a ConfigMap-style <c>..data</c> symlink swap,
/// and the flag turned off.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class ConfigReloadTests : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    private readonly string _dir = Directory.CreateTempSubdirectory("runtime-reload-").FullName;
    private SimulatorFarm _farm = null!;

    public async Task InitializeAsync()
    {
        _farm = await SimulatorFarm.StartAsync(3, new SimulatorOptions());
        _farm[0].Overrides = new MetricsOverrides { Waiting = 0, KvCacheUsage = 0.9 };
        _farm[1].Overrides = new MetricsOverrides { Waiting = 6, KvCacheUsage = 0.9 };
        _farm[2].Overrides = new MetricsOverrides { Waiting = 6, KvCacheUsage = 0.1 };
    }

    public async Task DisposeAsync()
    {
        await _farm.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private static string Config(string scorer, string extra = "") => $"""
        apiVersion: inference.networking.x-k8s.io/v1alpha1
        kind: EndpointPickerConfig
        {extra}
        plugins:
        - type: {scorer}
        - type: max-score-picker
        schedulingProfiles:
        - name: default
          plugins:
          - pluginRef: {scorer}
          - pluginRef: max-score-picker
        """;

    [Fact]
    public async Task EditedFile_ChangesPicksWithinASecond_InvalidEditKeepsServing_RestartOnlyPartCounted()
    {
        var path = Path.Combine(_dir, "config.yaml");
        await File.WriteAllTextAsync(path, Config("queue-scorer"));
        await using var server = await StartAsync("--config-file", path);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await _farm.WaitForScrapesAsync(2, TimeSpan.FromSeconds(20));
        Assert.Equal(_farm[0].Address, await PickAsync(client));
        var page = await MetricsAsync(server);
        Assert.Equal(1, Sample(page, "runtime_config_generation"));

        // An edit as editors make it: write a new file, rename it over the old one.
        var took = await ReplaceAndWaitForPickAsync(client, path, Config("kv-cache-utilization-scorer"), _farm[2].Address);
        Assert.True(took < TimeSpan.FromSeconds(2), $"the pick changed {took.TotalMilliseconds:0} ms after the edit");
        page = await MetricsAsync(server);
        Assert.Equal(2, Sample(page, "runtime_config_generation"));
        Assert.Equal(1, Sample(page, "runtime_config_reloads_total{result=\"success\"}"));
        Assert.Equal(0, Sample(page, "runtime_config_reloads_total{result=\"failure\"}"));

        // Invalid: an unknown plugin type. The last good config stays, serving goes on, the error is logged.
        await File.WriteAllTextAsync(path, Config("no-such-scorer"));
        await WaitForAsync(async () => Sample(await MetricsAsync(server), "runtime_config_reloads_total{result=\"failure\"}") >= 1, server);
        Assert.Equal(_farm[2].Address, await PickAsync(client));
        page = await MetricsAsync(server);
        Assert.Equal(2, Sample(page, "runtime_config_generation"));
        await server.Process.WaitForOutputAsync("no-such-scorer", s_timeout);
        Assert.Contains("not applied", server.Process.Output, StringComparison.Ordinal);

        // Feature gates are built once: the rest applies (back to the queue scorer), the gate waits for a restart.
        await File.WriteAllTextAsync(path, Config("queue-scorer", "featureGates:\n- flowControl"));
        await WaitForAsync(async () => await PickAsync(client) == _farm[0].Address, server);
        page = await MetricsAsync(server);
        Assert.Equal(3, Sample(page, "runtime_config_generation"));
        Assert.Equal(2, Sample(page, "runtime_config_reloads_total{result=\"success\"}"));
        Assert.Equal(1, Sample(page, "runtime_config_reloads_total{result=\"restart_required\"}"));
        await server.Process.WaitForOutputAsync("needs a restart to take effect (the rest is applied): featureGates", s_timeout);
        server.EnsureRunning();
    }

    private static string FlowConfig(string bands, int queueDepthThreshold) => $"""
        apiVersion: inference.networking.x-k8s.io/v1alpha1
        kind: EndpointPickerConfig
        featureGates: [flowControl]
        plugins:
        - type: queue-scorer
        - type: max-score-picker
        - type: utilization-detector
          parameters:
            queueDepthThreshold: {queueDepthThreshold}
        schedulingProfiles:
        - name: default
          plugins:
          - pluginRef: queue-scorer
          - pluginRef: max-score-picker
        saturationDetector:
          pluginRef: utilization-detector
        flowControl:
          defaultRequestTTL: 60s
          priorityBands:
        {bands}
        """;

    [Fact]
    public async Task FlowControlEdit_AppliesLive_BandThatLeftDrainsItsQueuedRequestThenGoes()
    {
        foreach (var sim in _farm.Servers)
        {
            sim.Overrides = new MetricsOverrides { Waiting = 50, KvCacheUsage = 0.1 }; // saturated: 50 waiting, threshold 5
        }

        var path = Path.Combine(_dir, "config.yaml");
        await File.WriteAllTextAsync(path, FlowConfig("  - priority: 5", queueDepthThreshold: 5));
        await using var server = await StartAsync("--config-file", path, "--objective", "premium=5");
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await _farm.WaitForScrapesAsync(2, TimeSpan.FromSeconds(20));
        var body = Encoding.UTF8.GetBytes("""{"model":"m","messages":[{"role":"user","content":"queued"}]}""");
        var headers = ExtProcMessages.FullDuplexRequestHeaders(headers: [.. ExtProcMessages.DefaultRequestHeaders, new("x-gateway-inference-objective", "premium")]);
        var queued = client.RunFullDuplexAsync(new FullDuplexPhase { Headers = headers, BodyChunks = [body] }, timeout: TimeSpan.FromSeconds(40));
        await WaitForAsync(async () => (await MetricsAsync(server)).Contains("runtime_flow_control_band_requests{priority=\"5\"} 1\n", StringComparison.Ordinal), server);

        // Band 5 leaves the file, band 7 arrives: applied to the running queues, nothing waits for a restart.
        await File.WriteAllTextAsync(path, FlowConfig("  - priority: 7\n    maxRequests: 1", queueDepthThreshold: 5));
        await WaitForAsync(async () => Sample(await MetricsAsync(server), "runtime_config_generation") == 2, server);
        var page = await MetricsAsync(server);
        Assert.Equal(0, Sample(page, "runtime_flow_control_band_requests{priority=\"7\"}"));
        Assert.Equal(1, Sample(page, "runtime_flow_control_band_requests{priority=\"5\"}")); // draining, its request still queued
        Assert.False(queued.IsCompleted, "the queued request was answered while the pool was saturated");
        await server.Process.WaitForOutputAsync("draining [5]", s_timeout);

        // A new saturation detector (a queue threshold the pool is under) opens the gate live: the request goes, band 5 is gone.
        await File.WriteAllTextAsync(path, FlowConfig("  - priority: 7\n    maxRequests: 1", queueDepthThreshold: 1000));
        var result = (await queued).EnsureValid();
        Assert.True(result.ImmediateResponse is null, result.Describe());
        Assert.Contains(result.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders, h => h.Header.Key == "x-gateway-destination-endpoint");
        await WaitForAsync(async () => !(await MetricsAsync(server)).Contains("runtime_flow_control_band_requests{priority=\"5\"}", StringComparison.Ordinal), server);
        page = await MetricsAsync(server);
        Assert.Equal(3, Sample(page, "runtime_config_generation"));
        Assert.Equal(2, Sample(page, "runtime_config_reloads_total{result=\"success\"}"));
        Assert.Equal(0, Sample(page, "runtime_config_reloads_total{result=\"restart_required\"}"));
        Assert.DoesNotContain("needs a restart", server.Process.Output, StringComparison.Ordinal);
        server.EnsureRunning();
    }

    [Fact]
    public async Task ConfigMapVolumeSwap_IsPickedUp()
    {
        // kubelet's layout: config.yaml -> ..data/config.yaml, ..data -> ..<timestamp>; an update swaps ..data.
        var volume = Path.Combine(_dir, "volume");
        Directory.CreateDirectory(Path.Combine(volume, "..2026_12_05_first"));
        await File.WriteAllTextAsync(Path.Combine(volume, "..2026_12_05_first", "config.yaml"), Config("queue-scorer"));
        File.CreateSymbolicLink(Path.Combine(volume, "..data"), "..2026_12_05_first");
        File.CreateSymbolicLink(Path.Combine(volume, "config.yaml"), "..data/config.yaml");
        await using var server = await StartAsync("--config-file", Path.Combine(volume, "config.yaml"));
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await _farm.WaitForScrapesAsync(2, TimeSpan.FromSeconds(20));
        Assert.Equal(_farm[0].Address, await PickAsync(client));

        var swap = Stopwatch.StartNew();
        Directory.CreateDirectory(Path.Combine(volume, "..2026_12_05_second"));
        await File.WriteAllTextAsync(Path.Combine(volume, "..2026_12_05_second", "config.yaml"), Config("kv-cache-utilization-scorer"));
        File.CreateSymbolicLink(Path.Combine(volume, "..data_tmp"), "..2026_12_05_second");
        // rename(2) of the link itself, as kubelet swaps it (File.Move refuses a link to a directory).
        Assert.Equal(0, Rename(Path.Combine(volume, "..data_tmp"), Path.Combine(volume, "..data")));
        Directory.Delete(Path.Combine(volume, "..2026_12_05_first"), recursive: true);

        await WaitForAsync(async () => await PickAsync(client) == _farm[2].Address, server);
        Assert.True(swap.Elapsed < TimeSpan.FromSeconds(3), $"picked up {swap.Elapsed.TotalMilliseconds:0} ms after the swap");
        Assert.Equal(2, Sample(await MetricsAsync(server), "runtime_config_generation"));
    }

    [Fact]
    public async Task WatchConfigFileFalse_ReadsOnce()
    {
        var path = Path.Combine(_dir, "config.yaml");
        await File.WriteAllTextAsync(path, Config("queue-scorer"));
        await using var server = await StartAsync("--config-file", path, "--watch-config-file=false");
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await _farm.WaitForScrapesAsync(2, TimeSpan.FromSeconds(20));

        await File.WriteAllTextAsync(path, Config("kv-cache-utilization-scorer"));
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        Assert.Equal(_farm[0].Address, await PickAsync(client));
        Assert.DoesNotContain("runtime_config_generation", await MetricsAsync(server), StringComparison.Ordinal);
    }

    [DllImport("libc", EntryPoint = "rename", SetLastError = true)]
    private static extern int Rename([MarshalAs(UnmanagedType.LPUTF8Str)] string oldPath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newPath);

    private Task<BinaryRuntimeServer> StartAsync(params string[] args) =>
        BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--endpoints", string.Join(",", _farm.Servers.Select(s => s.Address)), "--refresh-metrics-interval", "50ms", .. args]);

    private static async Task<TimeSpan> ReplaceAndWaitForPickAsync(EnvoyExtProcClient client, string path, string text, string expected)
    {
        var temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, text);
        var watch = Stopwatch.StartNew();
        File.Move(temporary, path, overwrite: true);
        while (await PickAsync(client) != expected)
        {
            Assert.True(watch.Elapsed < s_timeout, "the edit was never applied");
            await Task.Delay(20);
        }

        return watch.Elapsed;
    }

    private static async Task<string> PickAsync(EnvoyExtProcClient client)
    {
        var body = Encoding.UTF8.GetBytes($$"""{"model":"m","messages":[{"role":"user","content":"{{Guid.NewGuid():N}}"}]}""");
        var result = (await client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [body] }, timeout: s_timeout)).EnsureValid();
        Assert.True(result.ImmediateResponse is null, result.Describe());
        return result.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders.Single(h => h.Header.Key == "x-gateway-destination-endpoint").Header.RawValue.ToStringUtf8();
    }

    private static async Task<string> MetricsAsync(BinaryRuntimeServer server)
    {
        using var http = new HttpClient { Timeout = s_timeout };
        return await http.GetStringAsync(new Uri($"http://127.0.0.1:{server.MetricsPort}/metrics"));
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, BinaryRuntimeServer server)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(watch.Elapsed < s_timeout, "condition not met" + Environment.NewLine + server.Diagnostics);
            await Task.Delay(50);
        }
    }

    private static double Sample(string page, string series)
    {
        var line = page.Split('\n').SingleOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        Assert.True(line is not null, $"no sample {series} in:\n{page}");
        return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }
}
