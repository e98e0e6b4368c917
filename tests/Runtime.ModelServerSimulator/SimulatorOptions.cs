namespace Runtime.Simulation;

/// <summary>How one simulated vLLM server behaves.</summary>
public sealed record SimulatorOptions
{
    public const string DefaultModel = "meta-llama/Llama-3.1-8B-Instruct";

    /// <summary>Echoed in the <c>x-simulator-id</c> header; null means <c>sim-&lt;port&gt;</c>.</summary>
    public string? Name { get; init; }

    /// <summary>Port on 127.0.0.1; 0 picks an ephemeral port.</summary>
    public int Port { get; init; }

    /// <summary>The base model; requests must name it or one of <see cref="LoraAdapters"/>.</summary>
    public string Model { get; init; } = DefaultModel;

    public IReadOnlyList<string> LoraAdapters { get; init; } = [];

    /// <summary>How many distinct adapters may run at once (vLLM <c>--max-loras</c>).</summary>
    public int MaxLora { get; init; } = 4;

    /// <summary>Requests beyond this many wait in the queue (vLLM <c>--max-num-seqs</c>).</summary>
    public int MaxRunning { get; init; } = 8;

    public int BlockSize { get; init; } = 16;

    /// <summary>KV-cache capacity in blocks; capacity in tokens is this times <see cref="BlockSize"/>.</summary>
    public int NumGpuBlocks { get; init; } = 2048;

    public int KvCacheCapacityTokens => NumGpuBlocks * BlockSize;

    /// <summary>Output tokens when the request has no <c>max_tokens</c>.</summary>
    public int DefaultMaxTokens { get; init; } = 16;

    /// <summary>Delay before the first output token (prefill), after the request is admitted.</summary>
    public TimeSpan TimeToFirstToken { get; init; }

    /// <summary>Delay per output token; zero makes requests complete at once.</summary>
    public TimeSpan TimePerOutputToken { get; init; }

    /// <summary>llm-d's <c>llm-d.ai/role</c> label value (prefill, decode, both, ...); null for a plain server.</summary>
    public string? Role { get; init; }

    /// <summary>
    /// Data-parallel ranks, as llm-d's simulator runs them: rank i listens on <see cref="Port"/> + i (each an
    /// ephemeral port when <see cref="Port"/> is 0) and is a server of its own in the farm.
    /// </summary>
    public int DataParallelSize { get; init; } = 1;

    /// <summary>This server's data-parallel rank (set by the farm).</summary>
    public int Rank { get; init; }

    /// <summary>Pads the /metrics page with filler series until it has at least this many samples.</summary>
    public int MetricsSeries { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> listing every invalid field.</summary>
    public void Validate()
    {
        var errors = new List<string>();
        if (Port is < 0 or > 65535)
        {
            errors.Add($"Port {Port} is not in 0..65535");
        }

        if (string.IsNullOrWhiteSpace(Model))
        {
            errors.Add("Model is empty");
        }

        if (MaxRunning < 1)
        {
            errors.Add("MaxRunning must be at least 1");
        }

        if (MaxLora < 1)
        {
            errors.Add("MaxLora must be at least 1");
        }

        if (BlockSize < 1 || NumGpuBlocks < 1)
        {
            errors.Add("BlockSize and NumGpuBlocks must be at least 1");
        }

        if (DefaultMaxTokens < 1)
        {
            errors.Add("DefaultMaxTokens must be at least 1");
        }

        if (TimeToFirstToken < TimeSpan.Zero || TimePerOutputToken < TimeSpan.Zero)
        {
            errors.Add("TimeToFirstToken and TimePerOutputToken must not be negative");
        }

        if (DataParallelSize < 1 || (Port != 0 && Port + DataParallelSize - 1 > 65535))
        {
            errors.Add($"DataParallelSize {DataParallelSize} must be at least 1 and fit from port {Port}");
        }

        if (Role is { } role && string.IsNullOrWhiteSpace(role))
        {
            errors.Add("Role is blank");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid simulator options: " + string.Join("; ", errors));
        }
    }
}

/// <summary>
/// Values reported on /metrics in place of the simulated ones; a null field keeps the simulated
/// value. Set through <see cref="ModelServerSimulator.Overrides"/> or <c>POST /sim/state</c>.
/// </summary>
public sealed record MetricsOverrides
{
    public int? Waiting { get; init; }

    public int? Running { get; init; }

    /// <summary>0..1.</summary>
    public double? KvCacheUsage { get; init; }

    public IReadOnlyList<string>? RunningLoraAdapters { get; init; }

    public IReadOnlyList<string>? WaitingLoraAdapters { get; init; }
}
