using System.Globalization;
using System.Text;
using Runtime.Simulation;
using Runtime.TestSupport.ExtProc;
using Runtime.TestSupport.Hosting;

// Usage: dotnet run -c Release --project perf/ReplicaStateLoad -- [binary] [conversations] [turns] [all|hits|lag] [lag seconds] [lag concurrency]
// Replays conversations (a long system prompt per conversation, then growing turns) against 1, 2 and
// 4 replicas of the AOT binary, the client sending request i to replica i mod N. A follow-up turn is a
// prefix hit when it goes to the endpoint that served the conversation's previous turn (the one
// holding its KV cache). Redis traffic comes from INFO stats before and after each run.
// Then (mode all or lag) the in-flight lag bound with 2 and 4 replicas: see InFlightLag.
var binary = args.Length > 0 ? args[0] : Path.Combine(RepositoryRoot(), "out", "runtime");
var conversations = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 48;
var turns = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 6;
const int Endpoints = 8;
const int Concurrency = 8;
var think = TimeSpan.FromMilliseconds(50);
const string Interval = "20ms";
var mode = args.Length > 3 ? args[3] : "all";
if (mode is not ("all" or "hits" or "lag"))
{
    Console.Error.WriteLine($"unknown mode \"{mode}\": expected all, hits or lag");
    return 2;
}

if (mode != "lag")
{
    Console.WriteLine($"{conversations} conversations x {turns} turns, {Endpoints} simulated endpoints, {Concurrency} conversations at a time, {think.TotalMilliseconds} ms between turns, --replica-state-interval {Interval}");
    Console.WriteLine("replicas | requests | follow-up hits | hit rate | vs 1 replica | Redis cmds/request | Redis bytes in+out/request | idle cmds/replica/s");
    double? baseline = null;
    foreach (var replicas in (int[])[1, 2, 4])
    {
        var result = await RunAsync(replicas);
        baseline ??= result.HitRate;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{replicas} | {result.Requests} | {result.Hits}/{result.FollowUps} | {result.HitRate:P1} | {result.HitRate / baseline:P1} | {result.CommandsPerRequest:F2} | {result.BytesPerRequest:F0} | {result.IdleCommandsPerReplicaSecond:F1}"));
    }
}

if (mode != "hits")
{
    var lagSeconds = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 10;
    var lagConcurrency = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 32;
    var interval = TimeSpan.FromMilliseconds(20);
    Console.WriteLine();
    Console.WriteLine($"In-flight lag: {lagConcurrency} clients for {lagSeconds} s, 4 simulated endpoints (TTFT 20 ms, 4 ms/token, 5-49 tokens), --replica-state-interval {interval.TotalMilliseconds} ms; each replica's /metrics view (local + remote) against the true in-flight total per endpoint");
    Console.WriteLine("replicas | requests (req/s) | samples | mean abs error | max abs error | within starts in last interval | within starts+ends in last interval | in last 2 intervals | mean starts+ends per interval | scrape ms");
    foreach (var replicas in (int[])[2, 4])
    {
        var lag = await InFlightLag.RunAsync(binary, replicas, TimeSpan.FromSeconds(lagSeconds), lagConcurrency, interval);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{lag.Replicas} | {lag.Requests} ({lag.RequestsPerSecond:F0}) | {lag.Samples} | {lag.MeanAbsError:F2} | {lag.MaxAbsError} | {lag.WithinStarts:P1} | {lag.WithinOneInterval:P1} | {lag.WithinTwoIntervals:P1} | {lag.MeanChanges:F1} | {lag.ScrapeMs:F1}"));
    }
}

return 0;

async Task<Result> RunAsync(int replicas)
{
    await using var farm = await SimulatorFarm.StartAsync(Endpoints, new SimulatorOptions());
    await using var redis = await RedisServer.StartAsync();
    var processes = new List<(RuntimeProcess Process, EnvoyExtProcClient Client)>();
    try
    {
        for (var r = 0; r < replicas; r++)
        {
            int grpc = TestPorts.GetFreeTcpPort(), health = TestPorts.GetFreeTcpPort();
            var process = RuntimeProcess.Start(binary,
            [
                "serve", "--grpc-port", Invariant(grpc), "--grpc-health-port", Invariant(health), "--secure-serving=false",
                "--bind-address", "127.0.0.1", "--metrics-port", Invariant(TestPorts.GetFreeTcpPort()),
                "--bbr-grpc-port", "0",
                "--endpoints", string.Join(",", farm.Servers.Select(s => s.Address)),
                .. replicas > 1 ? (string[])["--replica-state", redis.Url, "--replica-state-interval", Interval] : [],
            ]);
            await process.WaitForPortsAsync([grpc, health], TimeSpan.FromSeconds(30));
            processes.Add((process, new EnvoyExtProcClient(new Uri($"http://127.0.0.1:{grpc}"))));
        }

        await Task.Delay(1500); // first metrics scrape, Redis connection
        var before = await StatsAsync(redis);
        var idleStart = DateTime.UtcNow;
        await Task.Delay(1000);
        var idle = await StatsAsync(redis);
        var idleSeconds = (DateTime.UtcNow - idleStart).TotalSeconds;

        var next = -1;
        int hits = 0, followUps = 0, requests = 0;
        using var gate = new SemaphoreSlim(Concurrency);
        await Task.WhenAll(Enumerable.Range(0, conversations).Select(async c =>
        {
            await gate.WaitAsync();
            try
            {
                var history = new StringBuilder(SystemPrompt(c));
                string? previous = null;
                for (var t = 0; t < turns; t++)
                {
                    history.Append(CultureInfo.InvariantCulture, $" user turn {t}: {Words(c * 100 + t, 200)}");
                    var client = processes[(Interlocked.Increment(ref next) & int.MaxValue) % replicas].Client;
                    var picked = await PickAsync(client, history.ToString());
                    Interlocked.Increment(ref requests);
                    if (previous is not null)
                    {
                        Interlocked.Increment(ref followUps);
                        if (picked == previous)
                        {
                            Interlocked.Increment(ref hits);
                        }
                    }

                    previous = picked;
                    history.Append(CultureInfo.InvariantCulture, $" assistant: {Words(c * 100 + t + 50, 100)}");
                    await Task.Delay(think);
                }
            }
            finally
            {
                gate.Release();
            }
        }));

        var after = await StatsAsync(redis);
        var idleRate = (idle.Commands - before.Commands) / idleSeconds / replicas;
        return new Result(requests, hits, followUps, (double)(after.Commands - idle.Commands) / requests, (double)(after.Bytes - idle.Bytes) / requests, replicas > 1 ? idleRate : 0);
    }
    finally
    {
        foreach (var (process, client) in processes)
        {
            client.Dispose();
            await process.DisposeAsync();
        }
    }
}

static async Task<(long Commands, long Bytes)> StatsAsync(RedisServer redis)
{
    var info = await redis.CliAsync("INFO", "stats");
    long Field(string name) => long.Parse(info.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith(name + ":", StringComparison.Ordinal))[(name.Length + 1)..], CultureInfo.InvariantCulture);

    // INFO itself counts one command and its reply bytes; negligible next to the runs.
    return (Field("total_commands_processed"), Field("total_net_input_bytes") + Field("total_net_output_bytes"));
}

static async Task<string> PickAsync(EnvoyExtProcClient client, string prompt)
{
    var body = Encoding.UTF8.GetBytes($$"""{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"{{prompt}}"}]}""");
    var result = (await client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [body] }, timeout: TimeSpan.FromSeconds(15))).EnsureValid();
    return result.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders
        .Single(h => h.Header.Key == "x-gateway-destination-endpoint").Header.RawValue.ToStringUtf8();
}

static string SystemPrompt(int conversation) => $"system {conversation}: " + Words(conversation, 1500);

static string Words(int seed, int count)
{
    var random = new Random(seed);
    var text = new StringBuilder();
    for (var i = 0; i < count; i++)
    {
        text.Append(CultureInfo.InvariantCulture, $"w{random.Next(50_000)} ");
    }

    return text.ToString();
}

static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

static string RepositoryRoot()
{
    var dir = AppContext.BaseDirectory;
    while (dir is not null && !File.Exists(Path.Combine(dir, "Runtime.sln")))
    {
        dir = Path.GetDirectoryName(dir);
    }

    return dir ?? Directory.GetCurrentDirectory();
}

internal sealed record Result(int Requests, int Hits, int FollowUps, double CommandsPerRequest, double BytesPerRequest, double IdleCommandsPerReplicaSecond)
{
    public double HitRate => FollowUps == 0 ? 0 : (double)Hits / FollowUps;
}
