using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Runtime.Simulation.Tests.Support;
using static Runtime.Simulation.Tests.Support.SimulatorHttp;

namespace Runtime.Simulation.Tests;

public sealed class ModelServerSimulatorTests
{
    private const string Model = SimulatorOptions.DefaultModel;

    [Fact]
    public async Task StartAsync_PortZero_BindsEphemeralLoopbackPort()
    {
        await using var server = await ModelServerSimulator.StartAsync(new SimulatorOptions { Name = "alpha" });

        Assert.NotEqual(0, server.Port);
        Assert.Equal($"127.0.0.1:{server.Port}", server.Address);
        Assert.Equal("alpha", server.Name);
    }

    [Fact]
    public async Task StartAsync_NoName_NamedAfterPort()
    {
        await using var server = await ModelServerSimulator.StartAsync();

        Assert.Equal($"sim-{server.Port}", server.Name);
    }

    [Fact]
    public async Task StartAsync_InvalidOptions_ThrowsListingEveryError()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            ModelServerSimulator.StartAsync(new SimulatorOptions { MaxRunning = 0, Model = "" }));

        Assert.Contains("MaxRunning", error.Message, StringComparison.Ordinal);
        Assert.Contains("Model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChatCompletions_NonStream_ChoicesUsageAndSimulatorHeader()
    {
        await using var server = await ModelServerSimulator.StartAsync(new SimulatorOptions { Name = "sim-a" });
        using var client = CreateClient(server);

        using var response = await PostChatAsync(client, Model, content: new string('x', 40), maxTokens: 5);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("sim-a", Assert.Single(response.Headers.GetValues("x-simulator-id")));
        var json = await ReadJsonAsync(response);
        Assert.Equal("chat.completion", json.GetProperty("object").GetString());
        Assert.Equal(Model, json.GetProperty("model").GetString());
        var choice = Assert.Single(json.GetProperty("choices").EnumerateArray().ToList());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.False(string.IsNullOrEmpty(choice.GetProperty("message").GetProperty("content").GetString()));
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        var usage = json.GetProperty("usage");
        Assert.Equal(10, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(5, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(15, usage.GetProperty("total_tokens").GetInt32());
        Assert.Equal(1, server.RequestsServed);
    }

    [Fact]
    public async Task Completions_NoMaxTokens_DefaultTokenCountAndStop()
    {
        await using var server = await ModelServerSimulator.StartAsync(new SimulatorOptions { DefaultMaxTokens = 7 });
        using var client = CreateClient(server);

        using var response = await PostRawAsync(client, "/v1/completions", $$"""{"model":"{{Model}}","prompt":"abcdefgh"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await ReadJsonAsync(response);
        Assert.Equal("text_completion", json.GetProperty("object").GetString());
        Assert.Equal("stop", json.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(2, json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(7, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Embeddings_Input_ReturnsVector()
    {
        await using var server = await ModelServerSimulator.StartAsync();
        using var client = CreateClient(server);

        using var response = await PostRawAsync(client, "/v1/embeddings", $$"""{"model":"{{Model}}","input":["hello","world"]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await ReadJsonAsync(response);
        Assert.Equal(8, json.GetProperty("data")[0].GetProperty("embedding").GetArrayLength());
        Assert.Equal(0, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Theory]
    [InlineData("/v1/chat/completions", "{not json", null)]
    [InlineData("/v1/chat/completions", "[1,2]", null)]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}]}""", "model")]
    [InlineData("/v1/chat/completions", """{"model":"","messages":[{"role":"user","content":"hi"}]}""", "model")]
    [InlineData("/v1/chat/completions", """{"model":"MODEL","messages":[]}""", "messages")]
    [InlineData("/v1/chat/completions", """{"model":"MODEL","messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", "max_tokens")]
    [InlineData("/v1/completions", """{"model":"MODEL"}""", "prompt")]
    [InlineData("/v1/embeddings", """{"model":"MODEL","input":{}}""", "input")]
    public async Task Inference_BadRequest_Returns400WithOpenAiError(string path, string body, string? param)
    {
        await using var server = await ModelServerSimulator.StartAsync();
        using var client = CreateClient(server);

        using var response = await PostRawAsync(client, path, body.Replace("MODEL", Model, StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await ReadJsonAsync(response)).GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(400, error.GetProperty("code").GetInt32());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(0, server.RequestsServed);
    }

    [Fact]
    public async Task Inference_UnknownModel_Returns404()
    {
        await using var server = await ModelServerSimulator.StartAsync(new SimulatorOptions { LoraAdapters = ["sql-lora"] });
        using var client = CreateClient(server);

        using var response = await PostChatAsync(client, "no-such-model");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("model", (await ReadJsonAsync(response)).GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Inference_LoraAdapterAsModel_Served()
    {
        await using var server = await ModelServerSimulator.StartAsync(new SimulatorOptions { LoraAdapters = ["sql-lora"] });
        using var client = CreateClient(server);

        using var response = await PostChatAsync(client, "sql-lora");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("sql-lora", (await ReadJsonAsync(response)).GetProperty("model").GetString());
    }

    [Fact]
    public async Task Stream_TimePerToken_ChunksArriveBeforeRequestCompletes()
    {
        await using var server = await ModelServerSimulator.StartAsync(new SimulatorOptions
        {
            TimePerOutputToken = TimeSpan.FromMilliseconds(40),
        });
        using var client = CreateClient(server);

        using var response = await PostChatAsync(client, Model, maxTokens: 10, stream: true);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<string>();
        var servedAtFirstToken = -1L;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            Assert.StartsWith("data: ", line, StringComparison.Ordinal);
            events.Add(line["data: ".Length..]);
            if (servedAtFirstToken < 0 && line.Contains("\"content\":\"The\"", StringComparison.Ordinal))
            {
                // Nine more tokens are still to come: the request has not finished yet.
                servedAtFirstToken = server.RequestsServed;
            }
        }

        Assert.Equal(0, servedAtFirstToken);
        Assert.Equal(1, server.RequestsServed);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        var contentChunks = chunks.Count(c =>
            c.GetProperty("choices").GetArrayLength() == 1
            && c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var content)
            && content.GetString()!.Length > 0);
        Assert.Equal(10, contentChunks);
        Assert.Equal("length", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        var usage = chunks[^1].GetProperty("usage");
        Assert.Equal(10, usage.GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Metrics_RequestRunning_ShowsInRunningAndKvCache()
    {
        await using var server = await ModelServerSimulator.StartAsync(new SimulatorOptions
        {
            TimePerOutputToken = TimeSpan.FromMilliseconds(50),
            NumGpuBlocks = 4, // 64 tokens
        });
        using var client = CreateClient(server);
        using var cancel = new CancellationTokenSource();

        var request = PostChatAsync(client, Model, content: new string('x', 64), maxTokens: 1000, cancellationToken: cancel.Token);
        var busy = await ScrapeUntilAsync(client, p => p.Value("vllm:num_requests_running") == 1);

        Assert.Equal(0, busy.Value("vllm:num_requests_waiting"));
        Assert.InRange(busy.Value("vllm:kv_cache_usage_perc"), 16.0 / 64, 1.0);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        var idle = await ScrapeUntilAsync(client, p => p.Value("vllm:num_requests_running") == 0);
        Assert.Equal(0, idle.Value("vllm:kv_cache_usage_perc"));
    }

    [Fact]
    public async Task Metrics_KvCacheOverCapacity_ClampedToOne()
    {
        await using var server = await ModelServerSimulator.StartAsync(new SimulatorOptions
        {
            TimePerOutputToken = TimeSpan.FromMilliseconds(50),
            NumGpuBlocks = 1, // 16 tokens
        });
        using var client = CreateClient(server);
        using var cancel = new CancellationTokenSource();

        var request = PostChatAsync(client, Model, content: new string('x', 400), maxTokens: 1000, cancellationToken: cancel.Token);
        var busy = await ScrapeUntilAsync(client, p => p.Value("vllm:num_requests_running") == 1);

        Assert.Equal(1.0, busy.Value("vllm:kv_cache_usage_perc"));
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
    }

    [Fact]
    public async Task Metrics_MoreThanMaxRunning_RestWait()
    {
        await using var server = await ModelServerSimulator.StartAsync(new SimulatorOptions
        {
            MaxRunning = 2,
            TimePerOutputToken = TimeSpan.FromMilliseconds(50),
        });
        using var client = CreateClient(server);
        using var cancel = new CancellationTokenSource();

        var requests = Enumerable.Range(0, 5)
            .Select(_ => PostChatAsync(client, Model, maxTokens: 1000, cancellationToken: cancel.Token))
            .ToList();
        var busy = await ScrapeUntilAsync(client, p => p.Value("vllm:num_requests_waiting") == 3);

        Assert.Equal(2, busy.Value("vllm:num_requests_running"));
        await cancel.CancelAsync();
        foreach (var request in requests)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        }

        await ScrapeUntilAsync(client, p => p.Value("vllm:num_requests_running") == 0 && p.Value("vllm:num_requests_waiting") == 0);
    }

    [Fact]
    public async Task Metrics_WaitingRequest_RunsWhenSlotFrees()
    {
        await using var server = await ModelServerSimulator.StartAsync(new SimulatorOptions
        {
            MaxRunning = 1,
            TimePerOutputToken = TimeSpan.FromMilliseconds(20),
        });
        using var client = CreateClient(server);

        var first = PostChatAsync(client, Model, maxTokens: 20);
        var second = PostChatAsync(client, Model, maxTokens: 20);
        using var firstResponse = await first;
        using var secondResponse = await second;

        Assert.Equal(HttpStatusCode.OK, firstResponse.StatusCode);
        Assert.Equal(HttpStatusCode.OK, secondResponse.StatusCode);
        await firstResponse.Content.ReadAsStringAsync();
        await secondResponse.Content.ReadAsStringAsync();
        Assert.Equal(2, server.RequestsServed);
    }

    [Fact]
    public async Task Metrics_LoraRequestRunning_InRunningAdaptersAndOthersWaitForLoraSlot()
    {
        await using var server = await ModelServerSimulator.StartAsync(new SimulatorOptions
        {
            LoraAdapters = ["sql-lora", "tweet-lora"],
            MaxLora = 1,
            TimePerOutputToken = TimeSpan.FromMilliseconds(50),
        });
        using var client = CreateClient(server);
        using var cancel = new CancellationTokenSource();

        var sql = PostChatAsync(client, "sql-lora", maxTokens: 1000, cancellationToken: cancel.Token);
        await ScrapeUntilAsync(client, p => p.Only("vllm:lora_requests_info").Labels["running_lora_adapters"] == "sql-lora");
        var tweet = PostChatAsync(client, "tweet-lora", maxTokens: 1000, cancellationToken: cancel.Token);
        var base1 = PostChatAsync(client, Model, maxTokens: 1000, cancellationToken: cancel.Token);
        // Both later requests must have arrived: the base-model one runs, tweet-lora waits for the slot.
        var page = await ScrapeUntilAsync(client, p => p.Value("vllm:num_requests_running") == 2 && p.Value("vllm:num_requests_waiting") == 1);

        var lora = page.Only("vllm:lora_requests_info");
        Assert.Equal("1", lora.Labels["max_lora"]);
        Assert.Equal("sql-lora", lora.Labels["running_lora_adapters"]);
        Assert.Equal("tweet-lora", lora.Labels["waiting_lora_adapters"]);
        Assert.Equal(1, page.Value("vllm:num_requests_waiting"));
        Assert.True(lora.Value > 1.7e9, "lora_requests_info carries a unix timestamp as its value");

        await cancel.CancelAsync();
        foreach (var request in new[] { sql, tweet, base1 })
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        }
    }

    [Fact]
    public async Task Metrics_AfterRequests_CountersAndHistogramAdvance()
    {
        await using var server = await ModelServerSimulator.StartAsync();
        using var client = CreateClient(server);

        (await PostChatAsync(client, Model, content: new string('x', 40), maxTokens: 3)).Dispose();
        (await PostChatAsync(client, Model, content: new string('x', 40), maxTokens: 3)).Dispose();
        var page = await ScrapeAsync(client);

        Assert.Equal(20, page.Value("vllm:prompt_tokens_total"));
        Assert.Equal(6, page.Value("vllm:generation_tokens_total"));
        Assert.Equal(2, page.Value("vllm:time_to_first_token_seconds_count"));
        Assert.Equal(2, page.All("vllm:request_success_total").Single(s => s.Labels["finished_reason"] == "length").Value);
        Assert.Equal(1, server.MetricsRequests);
    }

    [Fact]
    public async Task Metrics_Overrides_WinUntilCleared()
    {
        await using var server = await ModelServerSimulator.StartAsync(new SimulatorOptions { LoraAdapters = ["sql-lora"] });
        using var client = CreateClient(server);

        server.Overrides = new MetricsOverrides
        {
            Waiting = 7,
            Running = 3,
            KvCacheUsage = 0.5,
            RunningLoraAdapters = ["sql-lora", "x"],
            WaitingLoraAdapters = ["y"],
        };
        var overridden = await ScrapeAsync(client);
        server.Overrides = null;
        var cleared = await ScrapeAsync(client);

        Assert.Equal(7, overridden.Value("vllm:num_requests_waiting"));
        Assert.Equal(3, overridden.Value("vllm:num_requests_running"));
        Assert.Equal(0.5, overridden.Value("vllm:kv_cache_usage_perc"));
        Assert.Equal("sql-lora,x", overridden.Only("vllm:lora_requests_info").Labels["running_lora_adapters"]);
        Assert.Equal("y", overridden.Only("vllm:lora_requests_info").Labels["waiting_lora_adapters"]);
        Assert.Equal(0, cleared.Value("vllm:num_requests_waiting"));
        Assert.Equal(0, cleared.Value("vllm:kv_cache_usage_perc"));
        Assert.Equal(string.Empty, cleared.Only("vllm:lora_requests_info").Labels["running_lora_adapters"]);
    }

    [Fact]
    public async Task Metrics_PartialOverride_OtherValuesStaySimulated()
    {
        await using var server = await ModelServerSimulator.StartAsync(new SimulatorOptions
        {
            TimePerOutputToken = TimeSpan.FromMilliseconds(50),
        });
        using var client = CreateClient(server);
        using var cancel = new CancellationTokenSource();
        server.Overrides = new MetricsOverrides { Waiting = 9 };

        var request = PostChatAsync(client, Model, maxTokens: 1000, cancellationToken: cancel.Token);
        var page = await ScrapeUntilAsync(client, p => p.Value("vllm:num_requests_running") == 1);

        Assert.Equal(9, page.Value("vllm:num_requests_waiting"));
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
    }

    [Fact]
    public async Task Metrics_FailMetrics_Returns500()
    {
        await using var server = await ModelServerSimulator.StartAsync();
        using var client = CreateClient(server);

        server.FailMetrics = true;
        using var failed = await client.GetAsync("/metrics");
        server.FailMetrics = false;
        using var recovered = await client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
    }

    [Fact]
    public async Task Metrics_HangMetrics_ScrapeTimesOutAndInferenceStillWorks()
    {
        await using var server = await ModelServerSimulator.StartAsync();
        using var client = CreateClient(server);
        using var scraper = CreateClient(server);
        scraper.Timeout = TimeSpan.FromMilliseconds(300);

        server.HangMetrics = true;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => scraper.GetAsync("/metrics"));
        using var inference = await PostChatAsync(client, Model);
        server.HangMetrics = false;
        using var recovered = await client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, inference.StatusCode);
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
        Assert.Equal(2, server.MetricsRequests);
    }

    [Fact]
    public async Task StopAsync_AfterRequest_NewConnectionsRefused()
    {
        await using var server = await ModelServerSimulator.StartAsync();
        using var client = CreateClient(server);
        (await client.GetAsync("/metrics")).Dispose(); // leaves a pooled keep-alive connection

        await server.StopAsync();
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("/metrics"));

        Assert.True(server.IsStopped);
        Assert.Equal(SocketError.ConnectionRefused, Assert.IsType<SocketException>(error.InnerException).SocketErrorCode);
    }

    [Fact]
    public async Task StopAsync_RequestInFlight_RequestCutOff()
    {
        await using var server = await ModelServerSimulator.StartAsync(new SimulatorOptions
        {
            TimePerOutputToken = TimeSpan.FromMilliseconds(50),
        });
        using var client = CreateClient(server);

        using var response = await PostChatAsync(client, Model, maxTokens: 1000, stream: true);
        var body = response.Content.ReadAsStringAsync();
        await server.StopAsync();

        await Assert.ThrowsAnyAsync<Exception>(() => body);
        Assert.Equal(0, server.RequestsServed);
    }

    [Fact]
    public async Task SimState_PostOverridesAndFailureModes_AppliedAndReported()
    {
        await using var server = await ModelServerSimulator.StartAsync();
        using var client = CreateClient(server);

        using var set = await PostRawAsync(client, "/sim/state", """{"waiting":4,"kvCacheUsage":0.75,"runningLoraAdapters":["a","b"]}""");
        var page = await ScrapeAsync(client);
        using var fail = await PostRawAsync(client, "/sim/state", """{"failMetrics":true}""");
        using var failed = await client.GetAsync("/metrics");
        using var clear = await PostRawAsync(client, "/sim/state", """{"clear":true}""");
        var cleared = await ScrapeAsync(client);

        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        var state = await ReadJsonAsync(set);
        Assert.Equal(4, state.GetProperty("reported").GetProperty("waiting").GetInt32());
        Assert.Equal(0, state.GetProperty("simulated").GetProperty("waiting").GetInt32());
        Assert.Equal(4, page.Value("vllm:num_requests_waiting"));
        Assert.Equal(0.75, page.Value("vllm:kv_cache_usage_perc"));
        Assert.Equal("a,b", page.Only("vllm:lora_requests_info").Labels["running_lora_adapters"]);
        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.False((await ReadJsonAsync(clear)).GetProperty("overridden").GetBoolean());
        Assert.Equal(0, cleared.Value("vllm:num_requests_waiting"));
        Assert.Null(server.Overrides);
        Assert.False(server.FailMetrics);
    }

    [Fact]
    public async Task SimState_NullField_ClearsOnlyThatOverride()
    {
        await using var server = await ModelServerSimulator.StartAsync();
        using var client = CreateClient(server);

        (await PostRawAsync(client, "/sim/state", """{"waiting":4,"running":2}""")).Dispose();
        (await PostRawAsync(client, "/sim/state", """{"waiting":null}""")).Dispose();

        Assert.Equal(new MetricsOverrides { Running = 2 }, server.Overrides);
    }

    [Theory]
    [InlineData("""{"wating":4}""")]
    [InlineData("""{"waiting":"four"}""")]
    [InlineData("""{"runningLoraAdapters":[1]}""")]
    [InlineData("""{"failMetrics":true,"clear":true,"bogus":1}""")]
    [InlineData("not json")]
    public async Task SimState_BadBody_Returns400AndChangesNothing(string body)
    {
        await using var server = await ModelServerSimulator.StartAsync();
        using var client = CreateClient(server);
        var before = new MetricsOverrides { Running = 1 };
        server.Overrides = before;

        using var response = await PostRawAsync(client, "/sim/state", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Same(before, server.Overrides);
        Assert.False(server.FailMetrics);
    }

    [Fact]
    public async Task SimState_Get_ReportsCounters()
    {
        await using var server = await ModelServerSimulator.StartAsync(new SimulatorOptions { Name = "s1" });
        using var client = CreateClient(server);
        (await PostChatAsync(client, Model)).Dispose();

        var state = JsonDocument.Parse(await client.GetStringAsync("/sim/state")).RootElement;

        Assert.Equal("s1", state.GetProperty("name").GetString());
        Assert.Equal(server.Address, state.GetProperty("address").GetString());
        Assert.Equal(1, state.GetProperty("requestsServed").GetInt64());
    }

    [Fact]
    public async Task UnknownPath_Returns404WithSimulatorHeader()
    {
        await using var server = await ModelServerSimulator.StartAsync(new SimulatorOptions { Name = "s404" });
        using var client = CreateClient(server);

        using var response = await client.GetAsync("/nope");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("s404", Assert.Single(response.Headers.GetValues("x-simulator-id")));
    }
}
