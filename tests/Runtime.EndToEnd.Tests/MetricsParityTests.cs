using System.Globalization;
using System.Text;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Simulation;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// Metrics parity with the Go projects (upstream-facts §6): after real exchanges through the AOT
/// binary — plain, rewritten (streamed and JSON), rejected, queued through flow control, and through
/// the body-based router beside the picker — one scrape carries every family we implement with
/// GIE v1.5.0's / llm-d v0.10's label sets, the <c>[ALPHA] </c> help prefix, and plausible values.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class MetricsParityTests : IAsyncLifetime
{
    private const string Model = "meta-llama/Llama-3.1-8B-Instruct";
    private const string Alias = "my-alias";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(15);

    // Several prefix-cache blocks (64 bytes each by default), so the prefix index has something to match.
    private static readonly string Padding = string.Concat(Enumerable.Repeat("tell me a long story about metrics. ", 12));

    private static readonly string[] s_modelLabels = ["model_name", "target_model_name"];
    private static readonly string[] s_llmdLabels = ["fairness_id", "model_name", "priority", "target_model_name"];
    private static readonly string[] s_flowLabels = ["fairness_id", "inference_pool", "model_name", "priority", "target_model_name"];

    /// <summary>Family → (type, label names); an empty label set means no labels.</summary>
    private static readonly Dictionary<string, (string Type, string[] Labels)> s_expected = new(StringComparer.Ordinal)
    {
        // GIE v1.5.0 EPP
        ["inference_objective_request_total"] = ("counter", ["model_name", "priority", "target_model_name"]),
        ["inference_objective_request_error_total"] = ("counter", ["error_code", "model_name", "target_model_name"]),
        ["inference_objective_request_duration_seconds"] = ("histogram", s_modelLabels),
        ["inference_objective_request_sizes"] = ("histogram", s_modelLabels),
        ["inference_objective_response_sizes"] = ("histogram", s_modelLabels),
        ["inference_objective_input_tokens"] = ("histogram", s_modelLabels),
        ["inference_objective_output_tokens"] = ("histogram", s_modelLabels),
        ["inference_objective_prompt_cached_tokens"] = ("histogram", s_modelLabels),
        ["inference_objective_running_requests"] = ("gauge", ["model_name"]),
        ["inference_objective_normalized_time_per_output_token_seconds"] = ("histogram", s_modelLabels),
        ["inference_pool_average_kv_cache_utilization"] = ("gauge", ["name"]),
        ["inference_pool_average_queue_size"] = ("gauge", ["name"]),
        ["inference_pool_average_running_requests"] = ("gauge", ["name"]),
        ["inference_pool_ready_pods"] = ("gauge", ["name"]),
        ["inference_pool_per_pod_queue_size"] = ("gauge", ["model_server_pod", "name"]),
        ["inference_extension_scheduler_e2e_duration_seconds"] = ("histogram", []),
        ["inference_extension_scheduler_attempts_total"] = ("counter", ["namespace", "pod_name", "port", "status", "target_model_name"]),
        ["inference_extension_plugin_duration_seconds"] = ("histogram", ["extension_point", "plugin_name", "plugin_type"]),
        ["inference_extension_prefix_indexer_size"] = ("gauge", []),
        ["inference_extension_prefix_indexer_hit_ratio"] = ("histogram", []),
        ["inference_extension_prefix_indexer_hit_bytes"] = ("histogram", []),
        ["inference_extension_info"] = ("gauge", ["build_ref", "commit"]),
        ["inference_extension_flow_control_request_queue_duration_seconds"] = ("histogram", ["fairness_id", "inference_pool", "model_name", "outcome", "priority", "target_model_name"]),
        ["inference_extension_flow_control_dispatch_cycle_duration_seconds"] = ("histogram", []),
        ["inference_extension_flow_control_request_enqueue_duration_seconds"] = ("histogram", ["fairness_id", "outcome", "priority"]),
        ["inference_extension_flow_control_queue_size"] = ("gauge", s_flowLabels),
        ["inference_extension_flow_control_queue_bytes"] = ("gauge", s_flowLabels),
        ["inference_extension_flow_control_pool_saturation"] = ("gauge", ["inference_pool"]),
        ["inference_extension_model_rewrite_decisions_total"] = ("counter", ["model_name", "model_rewrite_name", "target_model"]),

        // GIE v1.5.0 BBR
        ["bbr_info"] = ("gauge", ["build_ref", "commit"]),
        ["bbr_success_total"] = ("counter", []),
        ["bbr_body_field_not_found_total"] = ("counter", ["field"]),
        ["bbr_body_field_empty_total"] = ("counter", ["field"]),
        ["bbr_plugin_duration_seconds"] = ("histogram", ["extension_point", "plugin_name", "plugin_type"]),

        // llm-d v0.10
        ["llm_d_epp_request_total"] = ("counter", s_llmdLabels),
        ["llm_d_epp_request_error_total"] = ("counter", ["error_code", "fairness_id", "model_name", "priority", "target_model_name"]),
        ["llm_d_epp_request_duration_seconds"] = ("histogram", s_llmdLabels),
        ["llm_d_epp_request_size_bytes"] = ("histogram", s_llmdLabels),
        ["llm_d_epp_response_size_bytes"] = ("histogram", s_llmdLabels),
        ["llm_d_epp_request_input_tokens"] = ("histogram", s_llmdLabels),
        ["llm_d_epp_request_output_tokens"] = ("histogram", s_llmdLabels),
        ["llm_d_epp_request_cached_tokens"] = ("histogram", s_llmdLabels),
        ["llm_d_epp_request_running"] = ("gauge", s_llmdLabels),
        ["llm_d_epp_request_ntpot_seconds"] = ("histogram", s_llmdLabels),
        ["llm_d_epp_request_ttft_seconds"] = ("histogram", ["fairness_id", "model_name", "priority", "streaming", "target_model_name"]),
        ["llm_d_epp_request_streaming_tpot_seconds"] = ("histogram", s_llmdLabels),
        ["llm_d_epp_request_streaming_itl_seconds"] = ("histogram", s_llmdLabels),
        ["llm_d_epp_average_kv_cache_utilization"] = ("gauge", ["name"]),
        ["llm_d_epp_average_queue_size"] = ("gauge", ["name"]),
        ["llm_d_epp_average_running_requests"] = ("gauge", ["name"]),
        ["llm_d_epp_std_dev_kv_cache_utilization"] = ("gauge", ["name"]),
        ["llm_d_epp_std_dev_queue_size"] = ("gauge", ["name"]),
        ["llm_d_epp_std_dev_running_requests"] = ("gauge", ["name"]),
        ["llm_d_epp_ready_endpoints"] = ("gauge", ["name"]),
        ["llm_d_epp_per_endpoint_queue_size"] = ("gauge", ["model_server_endpoint", "name"]),
        ["llm_d_epp_scheduler_e2e_duration_seconds"] = ("histogram", []),
        ["llm_d_epp_scheduler_attempts_total"] = ("counter", ["endpoint_name", "namespace", "port", "status", "target_model_name"]),
        ["llm_d_epp_plugin_duration_seconds"] = ("histogram", ["extension_point", "plugin_name", "plugin_type"]),
        ["llm_d_epp_request_processing_duration_seconds"] = ("histogram", []),
        ["llm_d_epp_response_processing_duration_seconds"] = ("histogram", []),
        ["llm_d_epp_info"] = ("gauge", ["build_ref", "commit"]),
        ["llm_d_epp_flow_control_request_queue_duration_seconds"] = ("histogram", ["fairness_id", "inference_pool", "model_name", "outcome", "priority", "target_model_name"]),
        ["llm_d_epp_flow_control_dispatch_cycle_duration_seconds"] = ("histogram", []),
        ["llm_d_epp_flow_control_request_enqueue_duration_seconds"] = ("histogram", ["fairness_id", "outcome", "priority"]),
        ["llm_d_epp_flow_control_queue_size"] = ("gauge", s_flowLabels),
        ["llm_d_epp_flow_control_queue_bytes"] = ("gauge", s_flowLabels),
        ["llm_d_epp_flow_control_pool_saturation"] = ("gauge", ["inference_pool"]),
        ["llm_d_epp_flow_control_requests_total"] = ("counter", ["inference_pool", "outcome", "priority"]),
        ["llm_d_epp_model_rewrite_decisions_total"] = ("counter", ["model_name", "model_rewrite_name", "target_model"]),
        ["llm_d_epp_datalayer_poll_errors_total"] = ("counter", ["source_type"]),
        ["llm_d_epp_prefix_indexer_size"] = ("gauge", ["plugin_name", "plugin_type"]),
        ["llm_d_epp_prefix_indexer_hit_ratio"] = ("histogram", ["plugin_name", "plugin_type"]),
        ["llm_d_epp_prefix_indexer_hit_bytes"] = ("histogram", ["plugin_name", "plugin_type"]),
    };

    private SimulatorFarm _farm = null!;

    public async Task InitializeAsync() => _farm = await SimulatorFarm.StartAsync(2, new SimulatorOptions());

    public async Task DisposeAsync() => await _farm.DisposeAsync();

    [Fact]
    public async Task Metrics_AfterRealExchanges_CarryEveryGieAndLlmDFamilyWithItsLabels()
    {
        _farm[0].Overrides = new MetricsOverrides { Waiting = 2, Running = 3, KvCacheUsage = 0.2 };
        _farm[1].Overrides = new MetricsOverrides { Waiting = 4, Running = 5, KvCacheUsage = 0.6 };
        int bbrPort = TestPorts.GetFreeTcpPort(), bbrHealthPort = TestPorts.GetFreeTcpPort();
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve",
        [
            "--endpoints", string.Join(",", _farm.Servers.Select(s => s.Address)),
            "--model-rewrite", $"{Alias}={Model}",
            "--objective", "chat=5",
            "--bbr-grpc-port", bbrPort.ToString(CultureInfo.InvariantCulture),
            "--bbr-grpc-health-port", bbrHealthPort.ToString(CultureInfo.InvariantCulture),
            "--config-text", """
                apiVersion: inference.networking.x-k8s.io/v1alpha1
                kind: EndpointPickerConfig
                featureGates: [flowControl]
                plugins:
                - type: queue-scorer
                - type: kv-cache-utilization-scorer
                - type: prefix-cache-scorer
                schedulingProfiles:
                - name: default
                  plugins:
                  - pluginRef: queue-scorer
                    weight: 2
                  - pluginRef: kv-cache-utilization-scorer
                    weight: 2
                  - pluginRef: prefix-cache-scorer
                    weight: 3
                flowControl:
                  defaultRequestTTL: 20s
                """,
        ]);
        using var picker = new EnvoyExtProcClient(server.ExtProcAddress);
        await _farm.WaitForScrapesAsync(2, TimeSpan.FromSeconds(20));
        var tenant = new KeyValuePair<string, string>[] { new("x-gateway-inference-fairness-id", "tenant-a"), new("x-gateway-inference-objective", "chat") };

        // 1. Plain JSON, with usage (cached tokens included), from tenant-a at priority 5.
        await ExchangeAsync(picker, Chat(Model, stream: false), tenant, "application/json", [Json(Model, 11, 6, cached: 4)]);

        // 2. Rewritten, streamed: the client's model, the target's tokens, ITL between the events.
        await ExchangeAsync(picker, Chat(Alias, stream: true), null, "text/event-stream",
        [
            Encoding.UTF8.GetBytes($"data: {{\"model\":\"{Model}\",\"choices\":[{{\"delta\":{{\"content\":\"a\"}}}}]}}\n\n"),
            Encoding.UTF8.GetBytes($"data: {{\"model\":\"{Model}\",\"choices\":[{{\"delta\":{{\"content\":\"b\"}}}}]}}\n\n"),
            Encoding.UTF8.GetBytes($"data: {{\"model\":\"{Model}\",\"choices\":[],\"usage\":{{\"prompt_tokens\":9,\"completion_tokens\":3}}}}\n\ndata: [DONE]\n\n"),
        ]);

        // 3. Rewritten, JSON in two chunks: usage is read from the restored body.
        var json = Json(Model, 7, 5, cached: 0);
        await ExchangeAsync(picker, Chat(Alias, stream: false), null, "application/json", [json[..10], json[10..]]);

        // 4. A bad body: 400 and the error counters.
        var rejected = (await picker.RunFullDuplexAsync(
            new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = ["{not json"u8.ToArray()] }, timeout: s_timeout)).EnsureValid();
        Assert.NotNull(rejected.ImmediateResponse);

        // 5. The body-based router beside the picker: a model, an empty one, none.
        using (var bbr = new EnvoyExtProcClient(new Uri($"http://127.0.0.1:{bbrPort}")))
        {
            foreach (var modelJson in new[] { $"\"{Model}\"", "\"\"", null })
            {
                var body = Encoding.UTF8.GetBytes(modelJson is null ? """{"messages":[]}""" : $$"""{"model":{{modelJson}},"messages":[]}""");
                var routed = (await bbr.RunFullDuplexAsync(
                    new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [body] }, timeout: s_timeout)).EnsureValid();
                Assert.Null(routed.ImmediateResponse);
                var headers = routed.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders.Select(h => h.Header.Key).ToList();
                Assert.Equal(modelJson == $"\"{Model}\"", headers.Contains("x-gateway-model-name"));
            }
        }

        var page = await ScrapeAsync(server);
        var families = Parse(page);

        foreach (var (name, (type, labels)) in s_expected)
        {
            Assert.True(families.TryGetValue(name, out var family), $"family {name} is missing from:\n{page}");
            Assert.Equal(type, family.Type);
            Assert.StartsWith("[ALPHA] ", family.Help, StringComparison.Ordinal);
            Assert.NotEmpty(family.Samples);
            foreach (var sample in family.Samples)
            {
                var keys = sample.Labels.Keys.Where(k => k != "le").Order(StringComparer.Ordinal).ToArray();
                Assert.True(labels.SequenceEqual(keys), $"{name}: labels [{string.Join(",", keys)}], expected [{string.Join(",", labels)}]");
            }
        }

        // Values come from the exchanges above.
        var alias = new Dictionary<string, string> { ["model_name"] = Alias, ["target_model_name"] = Model };
        var plain = new Dictionary<string, string> { ["model_name"] = Model, ["target_model_name"] = Model };
        Assert.Equal(2, Value(families, "inference_objective_request_total", alias, ("priority", "0")));
        Assert.Equal(1, Value(families, "inference_objective_request_total", plain, ("priority", "5")));
        Assert.Equal(1, Value(families, "llm_d_epp_request_total", plain, ("priority", "5"), ("fairness_id", "tenant-a")));
        Assert.Equal(2, Value(families, "inference_objective_input_tokens_count", alias));
        Assert.Equal(16, Value(families, "inference_objective_input_tokens_sum", alias));
        Assert.Equal(8, Value(families, "inference_objective_output_tokens_sum", alias));
        Assert.Equal(2, Value(families, "llm_d_epp_request_output_tokens_count", alias, ("fairness_id", "default-flow"), ("priority", "0")));
        Assert.Equal(4, Value(families, "inference_objective_prompt_cached_tokens_sum", plain));
        Assert.Equal(2, Value(families, "inference_objective_normalized_time_per_output_token_seconds_count", alias));
        Assert.Equal(2, Value(families, "inference_extension_model_rewrite_decisions_total", new() { ["model_name"] = Alias, ["target_model"] = Model, ["model_rewrite_name"] = "" }));
        Assert.Equal(1, Value(families, "inference_objective_request_error_total", new() { ["error_code"] = "BadRequest" }));
        Assert.Equal(0, Value(families, "inference_objective_running_requests", new() { ["model_name"] = Alias }));
        Assert.True(Value(families, "inference_objective_request_sizes_sum", alias) > 100);
        Assert.True(Value(families, "inference_objective_response_sizes_sum", alias) > 100);
        Assert.True(Value(families, "llm_d_epp_request_streaming_itl_seconds_count", alias) >= 2);
        Assert.Equal(1, Value(families, "llm_d_epp_request_ttft_seconds_count", alias, ("streaming", "true")));
        Assert.Equal(1, Value(families, "llm_d_epp_request_ttft_seconds_count", alias, ("streaming", "false")));
        Assert.Equal(1, Value(families, "llm_d_epp_request_streaming_tpot_seconds_count", alias));
        Assert.Equal(3, Value(families, "inference_extension_scheduler_attempts_total", new() { ["status"] = "success" }));
        Assert.Equal(3, Value(families, "llm_d_epp_flow_control_requests_total", new() { ["outcome"] = "Dispatched", ["inference_pool"] = "static" }));
        Assert.Equal(1, Value(families, "inference_extension_flow_control_request_queue_duration_seconds_count", plain, ("fairness_id", "tenant-a"), ("priority", "5"), ("outcome", "Dispatched")));
        Assert.Equal(0, Value(families, "inference_extension_flow_control_queue_size", plain, ("fairness_id", "tenant-a")));
        Assert.Equal(2, Value(families, "inference_pool_ready_pods", new() { ["name"] = "static" }));
        Assert.Equal(4, Value(families, "inference_pool_average_running_requests", new() { ["name"] = "static" }), 6);
        Assert.Equal(6, Value(families, "inference_pool_per_pod_queue_size", new()), 6);
        Assert.Equal(1.41, Value(families, "llm_d_epp_std_dev_queue_size", new()), 6);
        Assert.True(Value(families, "inference_extension_prefix_indexer_size", new()) > 0);
        Assert.Equal(3, Value(families, "inference_extension_prefix_indexer_hit_ratio_count", new()));
        Assert.True(Value(families, "inference_extension_plugin_duration_seconds_count", new() { ["extension_point"] = "Scorer" }) >= 3);
        Assert.Equal(1, Value(families, "inference_extension_info", new()));
        Assert.Equal(1, Value(families, "bbr_info", new()));
        Assert.Equal(1, Value(families, "bbr_success_total", new()));
        Assert.Equal(1, Value(families, "bbr_body_field_empty_total", new() { ["field"] = "model" }));
        Assert.Equal(1, Value(families, "bbr_body_field_not_found_total", new() { ["field"] = "model" }));
        Assert.True(Value(families, "bbr_plugin_duration_seconds_count", new() { ["extension_point"] = "request", ["plugin_type"] = "body-field-to-header" }) >= 3);
        server.EnsureRunning();
    }

    private static byte[] Chat(string model, bool stream) => Encoding.UTF8.GetBytes(
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{Guid.NewGuid():N}} {{Padding}}"}],"stream":{{(stream ? "true" : "false")}}}""");

    private static byte[] Json(string model, int prompt, int completion, int cached) => Encoding.UTF8.GetBytes(
        "{\"id\":\"x\",\"model\":\"" + model + "\",\"choices\":[{\"message\":{\"content\":\"a fine answer that is long enough\"}}],"
        + "\"usage\":{\"prompt_tokens\":" + prompt.ToString(CultureInfo.InvariantCulture) + ",\"completion_tokens\":" + completion.ToString(CultureInfo.InvariantCulture)
        + ",\"prompt_tokens_details\":{\"cached_tokens\":" + cached.ToString(CultureInfo.InvariantCulture) + "}}}");

    private static async Task ExchangeAsync(EnvoyExtProcClient client, byte[] body, KeyValuePair<string, string>[]? headers, string contentType, byte[][] responseChunks)
    {
        var request = new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(headers: headers is null ? null : [.. ExtProcMessages.DefaultRequestHeaders, .. headers]),
            BodyChunks = [body],
        };
        var response = new FullDuplexPhase { Headers = ExtProcMessages.ResponseHeaders(headers: [new("content-type", contentType)]), BodyChunks = [.. responseChunks] };
        var result = (await client.RunFullDuplexAsync(request, response, timeout: s_timeout)).EnsureValid();
        Assert.Null(result.ImmediateResponse);
    }

    private static async Task<string> ScrapeAsync(BinaryRuntimeServer server)
    {
        using var http = new HttpClient { Timeout = s_timeout };
        // The stream's end is recorded as the exchange closes; give the server a moment to see it.
        for (var attempt = 0; ; attempt++)
        {
            var page = await http.GetStringAsync(new Uri($"http://127.0.0.1:{server.MetricsPort}/metrics"));
            if (page.Contains("inference_objective_request_duration_seconds_count", StringComparison.Ordinal) || attempt >= 50)
            {
                await Task.Delay(200);
                return await http.GetStringAsync(new Uri($"http://127.0.0.1:{server.MetricsPort}/metrics"));
            }

            await Task.Delay(100);
        }
    }

    /// <summary>The sum of the samples of <paramref name="series"/> whose labels include all of <paramref name="labels"/>.</summary>
    private static double Value(Dictionary<string, Family> families, string series, Dictionary<string, string> labels, params (string Key, string Value)[] more)
    {
        foreach (var (key, value) in more)
        {
            labels = new Dictionary<string, string>(labels) { [key] = value };
        }

        var family = families.Values.FirstOrDefault(f => f.Samples.Any(s => s.Name == series));
        Assert.True(family is not null, $"no series {series}");
        var matching = family.Samples.Where(s => s.Name == series && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).ToList();
        Assert.True(matching.Count > 0, $"no {series} sample with {string.Join(",", labels.Select(l => $"{l.Key}={l.Value}"))}");
        return matching.Sum(s => s.Value);
    }

    private sealed record Sample(string Name, Dictionary<string, string> Labels, double Value);

    private sealed record Family(string Type, string Help, List<Sample> Samples);

    private static Dictionary<string, Family> Parse(string page)
    {
        var families = new Dictionary<string, Family>(StringComparer.Ordinal);
        var helps = new Dictionary<string, string>(StringComparer.Ordinal);
        Family? current = null;
        foreach (var line in page.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                var rest = line[7..];
                var space = rest.IndexOf(' ', StringComparison.Ordinal);
                helps[rest[..space]] = rest[(space + 1)..];
                continue;
            }

            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line[7..].Split(' ');
                current = new Family(parts[1], helps.GetValueOrDefault(parts[0], string.Empty), []);
                families[parts[0]] = current;
                continue;
            }

            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var lastSpace = line.LastIndexOf(' ');
            var name = brace >= 0 ? line[..brace] : line[..lastSpace];
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (brace >= 0)
            {
                var body = line[(brace + 1)..line.LastIndexOf('}')];
                foreach (var pair in SplitLabels(body))
                {
                    var eq = pair.IndexOf('=', StringComparison.Ordinal);
                    labels[pair[..eq]] = pair[(eq + 2)..^1];
                }
            }

            current?.Samples.Add(new Sample(name, labels, double.Parse(line[(lastSpace + 1)..], CultureInfo.InvariantCulture)));
        }

        return families;
    }

    private static IEnumerable<string> SplitLabels(string body)
    {
        // Values here hold no escaped quotes or commas inside quotes except model names (no commas).
        var start = 0;
        var quoted = false;
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] == '"' && (i == 0 || body[i - 1] != '\\'))
            {
                quoted = !quoted;
            }
            else if (body[i] == ',' && !quoted)
            {
                yield return body[start..i];
                start = i + 1;
            }
        }

        if (start < body.Length)
        {
            yield return body[start..];
        }
    }
}
