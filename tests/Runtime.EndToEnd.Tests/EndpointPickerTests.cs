using System.Text;
using Google.Protobuf.WellKnownTypes;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Simulation;
using Metadata = Runtime.Proto.Envoy.Config.Core.V3.Metadata;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// <c>runtime serve</c> as the endpoint picker, through the AOT binary: three model-server
/// simulators behind it, whose reported metrics each test sets, and the Envoy-like client in front.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class EndpointPickerTests : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);


    private SimulatorFarm _farm = null!;

    public async Task InitializeAsync() => _farm = await SimulatorFarm.StartAsync(3, new SimulatorOptions { LoraAdapters = ["sql-lora"] });

    public async Task DisposeAsync() => await _farm.DisposeAsync();

    private string Endpoints => string.Join(",", _farm.Servers.Select(s => s.Address));

    private Task<BinaryRuntimeServer> StartPickerAsync(params string[] args) =>
        BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--endpoints", Endpoints, .. args]);

    private static byte[] Chat(string prompt, string model = "meta-llama/Llama-3.1-8B-Instruct", bool stream = false) => Encoding.UTF8.GetBytes(
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{prompt}}"}],"stream":{{(stream ? "true" : "false")}}}""");

    private static string Unique() => Guid.NewGuid().ToString("N");

    private static FullDuplexPhase Request(byte[] body, IEnumerable<KeyValuePair<string, string>>? headers = null, Metadata? metadata = null)
    {
        var first = ExtProcMessages.FullDuplexRequestHeaders(headers: headers is null ? null : [.. ExtProcMessages.DefaultRequestHeaders, .. headers]);
        if (metadata is not null)
        {
            first.MetadataContext = metadata;
        }

        return new FullDuplexPhase { Headers = first, BodyChunks = [body] };
    }

    private static string Destination(FullDuplexResult result)
    {
        var reply = result.Request.HeadersResponse!.RequestHeaders.Response;
        var header = reply.HeaderMutation.SetHeaders.Single(h => h.Header.Key == "x-gateway-destination-endpoint").Header.RawValue.ToStringUtf8();
        var metadata = result.Request.HeadersResponse.DynamicMetadata.Fields["envoy.lb"].StructValue.Fields["x-gateway-destination-endpoint"].StringValue;
        Assert.Equal(header, metadata);
        Assert.True(reply.ClearRouteCache);
        return header;
    }

    private async Task<string> PickAsync(EnvoyExtProcClient client, byte[] body, IEnumerable<KeyValuePair<string, string>>? headers = null, Metadata? metadata = null)
    {
        var result = (await client.RunFullDuplexAsync(Request(body, headers, metadata), timeout: s_timeout)).EnsureValid();
        Assert.Null(result.ImmediateResponse);
        Assert.Equal(body, result.Request.StreamedBody);
        return Destination(result);
    }

    private static async Task<ImmediateResponse> RejectedAsync(EnvoyExtProcClient client, byte[] body, IEnumerable<KeyValuePair<string, string>>? headers = null, Metadata? metadata = null)
    {
        var result = await client.RunFullDuplexAsync(Request(body, headers, metadata), timeout: s_timeout);
        Assert.True(result.ImmediateResponse is not null, result.Describe());
        Assert.True(result.Status.IsOk, result.Status.ToString());
        return result.ImmediateResponse;
    }

    [Fact]
    public async Task Picks_FollowQueueDepth()
    {
        _farm[0].Overrides = new MetricsOverrides { Waiting = 20 };
        _farm[2].Overrides = new MetricsOverrides { Waiting = 20 };
        await using var server = await StartPickerAsync();
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await MetricsSettledAsync();

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(_farm[1].Address, await PickAsync(client, Chat(Unique())));
        }
    }

    [Fact]
    public async Task Picks_FollowKvCacheUse()
    {
        _farm[0].Overrides = new MetricsOverrides { KvCacheUsage = 0.9 };
        _farm[1].Overrides = new MetricsOverrides { KvCacheUsage = 0.95 };
        _farm[2].Overrides = new MetricsOverrides { KvCacheUsage = 0.05 };
        await using var server = await StartPickerAsync();
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await MetricsSettledAsync();

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(_farm[2].Address, await PickAsync(client, Chat(Unique())));
        }
    }

    [Fact]
    public async Task RepeatedLongPrompt_GoesBackToTheSameEndpoint()
    {
        await using var server = await StartPickerAsync();
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await MetricsSettledAsync();
        var prompt = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. ", 100));

        var first = await PickAsync(client, Chat(prompt));
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(first, await PickAsync(client, Chat(prompt)));
        }
    }

    [Fact]
    public async Task LoraAffinity_PrefersTheEndpointWithTheAdapterActive()
    {
        _farm[1].Overrides = new MetricsOverrides { RunningLoraAdapters = ["sql-lora"] };
        await using var server = await StartPickerAsync("--config-text", """
            apiVersion: inference.networking.x-k8s.io/v1alpha1
            kind: EndpointPickerConfig
            plugins:
            - type: lora-affinity-scorer
            - type: queue-scorer
            - type: max-score-picker
            schedulingProfiles:
            - name: default
              plugins:
              - pluginRef: lora-affinity-scorer
                weight: 5
              - pluginRef: queue-scorer
              - pluginRef: max-score-picker
            """);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await MetricsSettledAsync();

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(_farm[1].Address, await PickAsync(client, Chat(Unique(), model: "sql-lora")));
        }
    }

    [Fact]
    public async Task SubsetHint_RestrictsCandidates_EmptySubsetIs503()
    {
        await using var server = await StartPickerAsync();
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await MetricsSettledAsync();

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(_farm[2].Address, await PickAsync(client, Chat(Unique()), metadata: SubsetHint(_farm[2].Address, "10.9.9.9:1")));
        }

        var rejected = await RejectedAsync(client, Chat(Unique()), metadata: SubsetHint("10.9.9.9:1"));
        Assert.Equal(503, (int)rejected.Status.Code);
    }

    [Fact]
    public async Task Buffered_PickRidesOnTheBodyReply()
    {
        await using var server = await StartPickerAsync();
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        var headers = ExtProcMessages.RequestHeaders(requestBodyMode: BodySendMode.Buffered, responseBodyMode: BodySendMode.Buffered);

        var result = await client.RunBufferedAsync(headers, Chat(Unique()), timeout: s_timeout);

        Assert.True(result.Status.IsOk, result.Status.ToString());
        var reply = result.RequestBody!.RequestBody.Response;
        Assert.True(reply.ClearRouteCache);
        Assert.Null(reply.BodyMutation);
        var destination = reply.HeaderMutation.SetHeaders.Single(h => h.Header.Key == "x-gateway-destination-endpoint").Header.RawValue.ToStringUtf8();
        Assert.Contains(destination, _farm.Servers.Select(s => s.Address));
    }

    [Fact]
    public async Task NoBody_PickedOnTheHeaders()
    {
        await using var server = await StartPickerAsync();
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);

        var result = (await client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(endOfStream: true) }, timeout: s_timeout)).EnsureValid();

        Assert.Contains(Destination(result), _farm.Servers.Select(s => s.Address));
    }

    [Fact]
    public async Task NoEndpoints_503()
    {
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", []);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);

        var rejected = await RejectedAsync(client, Chat("hi"));

        Assert.Equal(503, (int)rejected.Status.Code);
        Assert.StartsWith("inference error: ServiceUnavailable - ", rejected.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}]", "request body")]
    [InlineData("{\"messages\":[{\"role\":\"user\"}]}", "model not found in request body")]
    [InlineData("{\"model\":\"m\",\"messages\":[]}", "messages")]
    public async Task BadBody_400(string body, string reason)
    {
        await using var server = await StartPickerAsync();
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);

        var rejected = await RejectedAsync(client, Encoding.UTF8.GetBytes(body));

        Assert.Equal(400, (int)rejected.Status.Code);
        Assert.StartsWith("inference error: BadRequest - ", rejected.Body, StringComparison.Ordinal);
        Assert.Contains(reason, rejected.Body, StringComparison.OrdinalIgnoreCase);
        server.EnsureRunning();
    }

    [Fact]
    public async Task Sheddable_429WhenSaturated_OthersStillPicked()
    {
        foreach (var sim in _farm.Servers)
        {
            sim.Overrides = new MetricsOverrides { Waiting = 50 };
        }

        await using var server = await StartPickerAsync("--objective", "batch=-1", "--objective", "chat=5");
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await MetricsSettledAsync();

        var shed = await RejectedAsync(client, Chat(Unique()), [new("x-gateway-inference-objective", "batch")]);
        Assert.Equal(429, (int)shed.Status.Code);
        await PickAsync(client, Chat(Unique()), [new("x-gateway-inference-objective", "chat")]);
    }

    [Fact]
    public async Task ModelRewrite_BodyCarriesTarget_ResponseRestoresClientModel()
    {
        await using var server = await StartPickerAsync("--model-rewrite", "my-alias=meta-llama/Llama-3.1-8B-Instruct");
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        var body = Chat("hello", model: "my-alias", stream: true);
        var response = Encoding.UTF8.GetBytes("data: {\"model\":\"meta-llama/Llama-3.1-8B-Instruct\",\"choices\":[]}\n\ndata: {\"model\":\"meta-llama/Llama-3.1-8B-Instruct\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n");

        var result = (await client.RunFullDuplexAsync(
            Request(body),
            new FullDuplexPhase { Headers = ExtProcMessages.ResponseHeaders(headers: [new("content-type", "text/event-stream")]), BodyChunks = BodyChunks.SplitRandomly(response, 4, seed: 1) },
            timeout: s_timeout)).EnsureValid();

        Assert.Equal(Encoding.UTF8.GetString(body).Replace("my-alias", "meta-llama/Llama-3.1-8B-Instruct", StringComparison.Ordinal), Encoding.UTF8.GetString(result.Request.StreamedBody));
        Assert.Equal(Encoding.UTF8.GetString(response).Replace("meta-llama/Llama-3.1-8B-Instruct", "my-alias", StringComparison.Ordinal), Encoding.UTF8.GetString(result.Response!.StreamedBody));
    }

    [Theory]
    [InlineData("application/json", "{\"id\":\"x\",\"model\":\"meta-llama/Llama-3.1-8B-Instruct\",\"choices\":[]}")]
    [InlineData("text/event-stream", "data: {\"model\":\"meta-llama/Llama-3.1-8B-Instruct\"}\n\ndata: [DONE]\n\n")]
    public async Task ModelRewrite_BufferedResponse_RestoresClientModelAndDropsContentLength(string contentType, string response)
    {
        await using var server = await StartPickerAsync("--model-rewrite", "my-alias=meta-llama/Llama-3.1-8B-Instruct");
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        var responseBytes = Encoding.UTF8.GetBytes(response);

        var result = await client.RunBufferedAsync(
            ExtProcMessages.RequestHeaders(requestBodyMode: BodySendMode.Buffered, responseBodyMode: BodySendMode.Buffered),
            Chat("hello", model: "my-alias"),
            ExtProcMessages.ResponseHeaders(headers: [new("content-type", contentType), new("content-length", responseBytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))]),
            responseBytes,
            timeout: s_timeout);

        Assert.True(result.Status.IsOk, result.Status.ToString());
        Assert.Contains("content-length", result.ResponseHeaders!.ResponseHeaders.Response.HeaderMutation.RemoveHeaders);
        var restored = result.ResponseBody!.ResponseBody.Response.BodyMutation.Body.ToStringUtf8();
        Assert.Equal(response.Replace("meta-llama/Llama-3.1-8B-Instruct", "my-alias", StringComparison.Ordinal), restored);
    }

    [Fact]
    public async Task FlowControl_QueuesWhileSaturated_DispatchesWhenCapacityReturns_TtlExpiresTo503()
    {
        foreach (var sim in _farm.Servers)
        {
            sim.Overrides = new MetricsOverrides { Waiting = 50 };
        }

        await using var server = await StartPickerAsync("--objective", "premium=10", "--config-text", """
            apiVersion: inference.networking.x-k8s.io/v1alpha1
            kind: EndpointPickerConfig
            featureGates: [flowControl]
            flowControl:
              defaultRequestTTL: 20s
            """);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await MetricsSettledAsync();

        var queued = Enumerable.Range(0, 4).Select(i => client.RunFullDuplexAsync(
            Request(Chat(Unique()), i == 3 ? [new("x-gateway-inference-objective", "premium")] : null), timeout: TimeSpan.FromSeconds(30))).ToList();
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.All(queued, q => Assert.False(q.IsCompleted, "a request was answered while the pool was saturated"));

        foreach (var sim in _farm.Servers)
        {
            sim.Overrides = null;
        }

        foreach (var result in await Task.WhenAll(queued))
        {
            Destination(result.EnsureValid());
        }
    }

    [Fact]
    public async Task FlowControl_TtlExpiry_503()
    {
        foreach (var sim in _farm.Servers)
        {
            sim.Overrides = new MetricsOverrides { Waiting = 50 };
        }

        await using var server = await StartPickerAsync("--config-text", """
            apiVersion: inference.networking.x-k8s.io/v1alpha1
            kind: EndpointPickerConfig
            featureGates: [flowControl]
            flowControl:
              defaultRequestTTL: 300ms
            """);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await MetricsSettledAsync();

        var rejected = await RejectedAsync(client, Chat(Unique()));

        Assert.Equal(503, (int)rejected.Status.Code);
    }

    [Fact]
    public async Task ClientCancelWhileQueued_ItemRemoved_InFlightReturnsToZero()
    {
        // One request in flight saturates the pool (concurrency detector, limit 1 per endpoint, one endpoint).
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--endpoints", _farm[0].Address, "--config-text", """
            apiVersion: inference.networking.x-k8s.io/v1alpha1
            kind: EndpointPickerConfig
            featureGates: [flowControl]
            plugins:
            - type: concurrency-detector
              parameters:
                maxConcurrency: 1
            - type: queue-scorer
            - type: max-score-picker
            schedulingProfiles:
            - name: default
              plugins:
              - pluginRef: queue-scorer
              - pluginRef: max-score-picker
            saturationDetector:
              pluginRef: concurrency-detector
            flowControl:
              defaultRequestTTL: 30s
            """]);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);

        // A: picked and left open (its response has not ended), so the endpoint is at its limit.
        await using var holder = await client.StartAsync();
        await holder.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
        await holder.SendAsync(ExtProcMessages.RequestBody(Chat(Unique()), endOfStream: true));
        Assert.NotNull((await holder.ReadRequiredAsync(s_timeout)).RequestHeaders);

        // B: queued behind the limit, then the client goes away.
        var cancelled = new CancellationTokenSource();
        var queued = client.RunFullDuplexAsync(Request(Chat(Unique())), timeout: TimeSpan.FromSeconds(30), cancellationToken: cancelled.Token);
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.False(queued.IsCompleted);
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);

        // A ends: its in-flight count is released. C must now be picked at once: nothing leaked from A or B.
        await holder.DisposeAsync();
        var started = DateTime.UtcNow;
        await PickAsync(client, Chat(Unique()));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task DyingEndpoint_StopsBeingPickedOnceItsMetricsGoStale()
    {
        // The best endpoint by queue depth dies; the others are worse but alive.
        _farm[1].Overrides = new MetricsOverrides { Waiting = 5 };
        _farm[2].Overrides = new MetricsOverrides { Waiting = 5 };
        await using var server = await StartPickerAsync("--metrics-staleness-threshold=200ms");
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        await MetricsSettledAsync();
        Assert.Equal(_farm[0].Address, await PickAsync(client, Chat(Unique())));

        await _farm[0].StopAsync();
        await MetricsSettledAsync();

        for (var i = 0; i < 10; i++)
        {
            Assert.NotEqual(_farm[0].Address, await PickAsync(client, Chat(Unique())));
        }
    }

    /// <summary>
    /// Waits until the picker has scraped every running simulator a few times since now (so it has
    /// seen the values just set), however slow the machine: a fixed sleep would race a loaded CI box.
    /// </summary>
    private Task MetricsSettledAsync() => _farm.WaitForScrapesAsync(3, TimeSpan.FromSeconds(20));

    private static Metadata SubsetHint(params string[] endpoints)
    {
        var metadata = new Metadata();
        metadata.FilterMetadata["envoy.lb.subset_hint"] = new Struct
        {
            Fields = { ["x-gateway-destination-endpoint-subset"] = Value.ForList([.. endpoints.Select(Value.ForString)]) },
        };
        return metadata;
    }
}
