using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Runtime.Simulation;

/// <summary>
/// One simulated vLLM server on one 127.0.0.1 port: OpenAI endpoints under <c>/v1</c>,
/// Prometheus <c>/metrics</c>, and test controls (in-process through this class, out of
/// process through <c>GET/POST /sim/state</c>). Every response carries
/// <c>x-simulator-id: &lt;Name&gt;</c>. Start one with <see cref="StartAsync"/>, or many in one
/// Kestrel server with <see cref="SimulatorFarm"/>.
/// </summary>
public sealed class ModelServerSimulator : IAsyncDisposable
{
    private readonly SimulatorFarm _farm;
    private readonly bool _ownsFarm;
    private readonly LatencyHistogram _timeToFirstToken = new(VllmMetricsPage.TimeToFirstTokenBuckets);
    private readonly CancellationTokenSource _stopping = new();
    private MetricsOverrides? _overrides;
    private volatile bool _failMetrics;
    private volatile bool _hangMetrics;
    private long _requestsServed;
    private long _metricsRequests;
    private long _promptTokens;
    private long _generationTokens;
    private long _finishedStop;
    private long _finishedLength;
    private int _stopped;
    private readonly ConcurrentQueue<ReceivedRouting> _received = new();

    internal ModelServerSimulator(SimulatorOptions options, SimulatorFarm farm, bool ownsFarm)
    {
        Options = options;
        Name = options.Name ?? string.Empty;
        Engine = new SimulatedEngine(options.MaxRunning, options.MaxLora, options.KvCacheCapacityTokens);
        _farm = farm;
        _ownsFarm = ownsFarm;
    }

    public SimulatorOptions Options { get; }

    /// <summary><see cref="SimulatorOptions.Name"/>, or <c>sim-&lt;port&gt;</c>.</summary>
    public string Name { get; private set; }

    /// <summary>The bound port (the ephemeral one when <see cref="SimulatorOptions.Port"/> was 0).</summary>
    public int Port { get; private set; }

    /// <summary>The line for an endpoint picker's <c>--endpoints</c> / <c>--endpoints-file</c>: the address and, with a role, <c>llm-d.ai/role=&lt;role&gt;</c>.</summary>
    public string EndpointEntry => Options.Role is { } role ? $"{Address} {RoleLabel}={role}" : Address;

    public const string RoleLabel = "llm-d.ai/role";

    /// <summary>
    /// The routing headers of every inference request received, in order: llm-d's <c>x-prefiller-host-port</c>
    /// (the prefill pod a decode sidecar would call) and <c>x-data-parallel-host-port</c> (the rank); null when absent.
    /// </summary>
    public IReadOnlyList<ReceivedRouting> ReceivedRouting => [.. _received];

    /// <summary><c>127.0.0.1:&lt;port&gt;</c>, the form endpoint pickers use.</summary>
    public string Address => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    public Uri BaseAddress => new($"http://{Address}/");

    /// <summary>Reported on /metrics in place of the simulated values until set back to null.</summary>
    public MetricsOverrides? Overrides
    {
        get => Volatile.Read(ref _overrides);
        set => Volatile.Write(ref _overrides, value);
    }

    /// <summary>/metrics answers 500.</summary>
    public bool FailMetrics
    {
        get => _failMetrics;
        set => _failMetrics = value;
    }

    /// <summary>/metrics never answers (until the client gives up or the server stops): for scrape timeouts.</summary>
    public bool HangMetrics
    {
        get => _hangMetrics;
        set => _hangMetrics = value;
    }

    /// <summary>Inference requests answered in full (non-stream or stream).</summary>
    public long RequestsServed => Interlocked.Read(ref _requestsServed);

    /// <summary>/metrics requests received, including failed and hung ones.</summary>
    public long MetricsRequests => Interlocked.Read(ref _metricsRequests);

    public bool IsStopped => Volatile.Read(ref _stopped) != 0;

    internal SimulatedEngine Engine { get; }

    internal CancellationToken Stopping => _stopping.Token;

    /// <summary>Starts one server in a Kestrel server of its own.</summary>
    public static async Task<ModelServerSimulator> StartAsync(SimulatorOptions? options = null, CancellationToken cancellationToken = default)
    {
        var farm = await SimulatorFarm.StartCoreAsync([options ?? new SimulatorOptions()], ownedByServer: true, cancellationToken);
        return farm[0];
    }

    /// <summary>What /metrics reports now: the simulated load with <see cref="Overrides"/> applied.</summary>
    public VllmMetricsSnapshot GetMetricsSnapshot()
    {
        var load = Engine.Snapshot();
        var overrides = Overrides;
        var loraReported = Options.LoraAdapters.Count > 0
            || overrides?.RunningLoraAdapters is not null
            || overrides?.WaitingLoraAdapters is not null;
        return new VllmMetricsSnapshot
        {
            ModelName = Options.Model,
            Waiting = overrides?.Waiting ?? load.Waiting,
            Running = overrides?.Running ?? load.Running,
            KvCacheUsage = overrides?.KvCacheUsage ?? load.KvCacheUsage,
            MaxLora = loraReported ? Options.MaxLora : 0,
            RunningLoraAdapters = overrides?.RunningLoraAdapters ?? load.RunningLoraAdapters,
            WaitingLoraAdapters = overrides?.WaitingLoraAdapters ?? load.WaitingLoraAdapters,
            BlockSize = Options.BlockSize,
            NumGpuBlocks = Options.NumGpuBlocks,
            PromptTokensTotal = Interlocked.Read(ref _promptTokens),
            GenerationTokensTotal = Interlocked.Read(ref _generationTokens),
            RequestsFinishedStop = Interlocked.Read(ref _finishedStop),
            RequestsFinishedLength = Interlocked.Read(ref _finishedLength),
            TimeToFirstToken = _timeToFirstToken.Snapshot(),
            PadToSeries = Options.MetricsSeries,
        };
    }

    /// <summary>
    /// Simulates a dying server: in-flight requests are cut off, open connections are aborted and
    /// the port stops listening, so new connections are refused. A stopped server does not restart.
    /// </summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync();
        await _farm.StopListenerAsync(Port);
    }

    /// <summary>Stops this server; a server started with <see cref="StartAsync"/> also shuts its Kestrel server down.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_ownsFarm)
        {
            await _farm.DisposeAsync();
        }
    }

    public override string ToString() => $"{Name} ({Address})";

    internal void Bind(int port)
    {
        Port = port;
        if (Options.Name is null)
        {
            Name = string.Create(CultureInfo.InvariantCulture, $"sim-{port}");
        }
    }

    /// <summary>Cuts off hung and in-flight requests so a shutting-down Kestrel need not wait for them.</summary>
    internal void CancelInFlight() => _stopping.Cancel();

    internal void RecordFirstToken(TimeSpan sinceArrival) => _timeToFirstToken.Observe(sinceArrival.TotalSeconds);

    internal void RecordFinished(int promptTokens, int generatedTokens, bool stoppedAtLength)
    {
        Interlocked.Add(ref _promptTokens, promptTokens);
        Interlocked.Add(ref _generationTokens, generatedTokens);
        Interlocked.Increment(ref stoppedAtLength ? ref _finishedLength : ref _finishedStop);
        Interlocked.Increment(ref _requestsServed);
    }

    internal Task HandleAsync(HttpContext context)
    {
        if (IsStopped)
        {
            context.Abort();
            return Task.CompletedTask;
        }

        context.Response.Headers["x-simulator-id"] = Name;
        var request = context.Request;
        if (HttpMethods.IsPost(request.Method) && request.Path.StartsWithSegments("/v1", StringComparison.Ordinal))
        {
            _received.Enqueue(new ReceivedRouting(request.Path.Value!, Header(request, "x-prefiller-host-port"), Header(request, "x-data-parallel-host-port")));
        }

        var isGet = HttpMethods.IsGet(request.Method);
        var isPost = HttpMethods.IsPost(request.Method);
        return request.Path.Value switch
        {
            "/metrics" when isGet => ServeMetricsAsync(context),
            "/v1/chat/completions" when isPost => OpenAiEndpoints.HandleAsync(this, context, OpenAiOperation.ChatCompletions),
            "/v1/completions" when isPost => OpenAiEndpoints.HandleAsync(this, context, OpenAiOperation.Completions),
            "/v1/embeddings" when isPost => OpenAiEndpoints.HandleAsync(this, context, OpenAiOperation.Embeddings),
            "/v1/models" when isGet => OpenAiEndpoints.ListModelsAsync(this, context),
            "/health" when isGet => Task.CompletedTask,
            "/sim/state" when isGet => WriteStateAsync(context),
            "/sim/state" when isPost => ApplyStateAsync(context),
            _ => OpenAiEndpoints.WriteErrorAsync(context, StatusCodes.Status404NotFound, "NotFoundError", null, $"No route for {request.Method} {request.Path}"),
        };
    }

    private static string? Header(HttpRequest request, string name) => request.Headers.TryGetValue(name, out var value) ? value.ToString() : null;

    private async Task ServeMetricsAsync(HttpContext context)
    {
        Interlocked.Increment(ref _metricsRequests);
        if (HangMetrics)
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
            try
            {
                await Task.Delay(Timeout.Infinite, cancel.Token);
            }
            catch (OperationCanceledException)
            {
            }

            context.Abort();
            return;
        }

        if (FailMetrics)
        {
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            await context.Response.WriteAsync("simulated /metrics failure\n", context.RequestAborted);
            return;
        }

        // A Content-Length like vLLM's server sends, rather than chunked encoding.
        var page = Encoding.UTF8.GetBytes(VllmMetricsPage.Render(GetMetricsSnapshot()));
        context.Response.ContentType = VllmMetricsPage.ContentType;
        context.Response.ContentLength = page.Length;
        await context.Response.Body.WriteAsync(page, context.RequestAborted);
    }

    /// <summary>
    /// <c>POST /sim/state</c>: <c>{"clear": true}</c> drops every override and the failure modes
    /// first; then <c>waiting</c>, <c>running</c>, <c>kvCacheUsage</c>, <c>runningLoraAdapters</c>,
    /// <c>waitingLoraAdapters</c> set an override (null clears that one), and <c>failMetrics</c>,
    /// <c>hangMetrics</c> switch the failure modes. Answers with the state, like GET.
    /// </summary>
    private async Task ApplyStateAsync(HttpContext context)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
        }
        catch (JsonException e)
        {
            await OpenAiEndpoints.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "BadRequestError", null, "Invalid JSON body: " + e.Message);
            return;
        }

        using (document)
        {
            if (!TryApplyState(document.RootElement, out var error))
            {
                await OpenAiEndpoints.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "BadRequestError", null, error);
                return;
            }
        }

        await WriteStateAsync(context);
    }

    private bool TryApplyState(JsonElement root, out string error)
    {
        error = string.Empty;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "The body must be a JSON object.";
            return false;
        }

        // Everything is checked before anything changes, so a bad body changes nothing.
        var clear = root.TryGetProperty("clear", out var clearElement) && clearElement.ValueKind == JsonValueKind.True;
        var overrides = (clear ? null : Overrides) ?? new MetricsOverrides();
        var failMetrics = !clear && FailMetrics;
        var hangMetrics = !clear && HangMetrics;
        foreach (var property in root.EnumerateObject())
        {
            var value = property.Value;
            var isNull = value.ValueKind == JsonValueKind.Null;
            var isInt = value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out _);
            switch (property.Name)
            {
                case "clear" when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    break;
                case "waiting" when isNull || isInt:
                    overrides = overrides with { Waiting = isNull ? null : value.GetInt32() };
                    break;
                case "running" when isNull || isInt:
                    overrides = overrides with { Running = isNull ? null : value.GetInt32() };
                    break;
                case "kvCacheUsage" when isNull || value.ValueKind == JsonValueKind.Number:
                    overrides = overrides with { KvCacheUsage = isNull ? null : value.GetDouble() };
                    break;
                case "runningLoraAdapters" when isNull || IsStringArray(value):
                    overrides = overrides with { RunningLoraAdapters = isNull ? null : ReadStrings(value) };
                    break;
                case "waitingLoraAdapters" when isNull || IsStringArray(value):
                    overrides = overrides with { WaitingLoraAdapters = isNull ? null : ReadStrings(value) };
                    break;
                case "failMetrics" when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    failMetrics = value.GetBoolean();
                    break;
                case "hangMetrics" when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    hangMetrics = value.GetBoolean();
                    break;
                default:
                    // Unknown names are rejected so that a typo does not silently do nothing.
                    error = $"Unknown field or bad value: \"{property.Name}\".";
                    return false;
            }
        }

        Overrides = overrides == new MetricsOverrides() ? null : overrides;
        FailMetrics = failMetrics;
        HangMetrics = hangMetrics;
        return true;
    }

    private async Task WriteStateAsync(HttpContext context)
    {
        var load = Engine.Snapshot();
        var reported = GetMetricsSnapshot();
        var overrides = Overrides;
        context.Response.ContentType = "application/json";
        await using (var json = new Utf8JsonWriter(context.Response.BodyWriter, OpenAiEndpoints.WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("name", Name);
            json.WriteString("address", Address);
            json.WriteString("model", Options.Model);
            if (Options.Role is { } role)
            {
                json.WriteString("role", role);
            }

            json.WriteNumber("rank", Options.Rank);
            var last = _received.LastOrDefault();
            json.WriteString("lastPrefillerHostPort", last?.PrefillerHostPort);
            json.WriteString("lastDataParallelHostPort", last?.DataParallelHostPort);
            OpenAiEndpoints.WriteStrings(json, "loraAdapters", Options.LoraAdapters);
            json.WriteNumber("requestsServed", RequestsServed);
            json.WriteNumber("metricsRequests", MetricsRequests);
            json.WriteBoolean("failMetrics", FailMetrics);
            json.WriteBoolean("hangMetrics", HangMetrics);
            json.WriteBoolean("overridden", overrides is not null);
            WriteLoad(json, "reported", reported.Waiting, reported.Running, reported.KvCacheUsage, reported.RunningLoraAdapters, reported.WaitingLoraAdapters);
            WriteLoad(json, "simulated", load.Waiting, load.Running, load.KvCacheUsage, load.RunningLoraAdapters, load.WaitingLoraAdapters);
            json.WriteEndObject();
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private static void WriteLoad(Utf8JsonWriter json, string name, int waiting, int running, double kv, IReadOnlyList<string> runningLora, IReadOnlyList<string> waitingLora)
    {
        json.WriteStartObject(name);
        json.WriteNumber("waiting", waiting);
        json.WriteNumber("running", running);
        json.WriteNumber("kvCacheUsage", kv);
        OpenAiEndpoints.WriteStrings(json, "runningLoraAdapters", runningLora);
        OpenAiEndpoints.WriteStrings(json, "waitingLoraAdapters", waitingLora);
        json.WriteEndObject();
    }

    private static bool IsStringArray(JsonElement value) =>
        value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(item => item.ValueKind == JsonValueKind.String);

    private static string[] ReadStrings(JsonElement array) => [.. array.EnumerateArray().Select(item => item.GetString()!)];
}

/// <summary>What routing headers one inference request carried (see <see cref="ModelServerSimulator.ReceivedRouting"/>).</summary>
public sealed record ReceivedRouting(string Path, string? PrefillerHostPort, string? DataParallelHostPort);
