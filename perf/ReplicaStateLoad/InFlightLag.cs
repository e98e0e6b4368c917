using System.Diagnostics;
using System.Globalization;
using System.Text;
using Runtime.Proto.Envoy.Service.ExtProc.V3;
using Runtime.Simulation;
using Runtime.TestSupport.ExtProc;
using Runtime.TestSupport.Hosting;

/// <summary>
/// The in-flight lag bound (issue: "each replica's in-flight count for an endpoint may differ from the
/// true total by at most the requests started in the last batch interval"). Requests stay in flight
/// while the simulator generates; during the load each replica's view of each endpoint
/// (<c>runtime_replica_state_endpoint_in_flight_requests</c>, local + remote) is scraped and compared with
/// the true total — the requests picked and not yet finished, counted by the client, which is what the
/// replicas' local counters add up to — and with the starts and ends of that endpoint in the last one
/// and two batch intervals before the scrape (and during it).
/// </summary>
internal static class InFlightLag
{
    private const string Metric = "runtime_replica_state_endpoint_in_flight_requests";

    public static async Task<LagResult> RunAsync(string binary, int replicas, TimeSpan duration, int concurrency, TimeSpan interval)
    {
        const int Endpoints = 4;
        var simulator = new SimulatorOptions { MaxRunning = 256, TimeToFirstToken = TimeSpan.FromMilliseconds(20), TimePerOutputToken = TimeSpan.FromMilliseconds(4) };
        await using var farm = await SimulatorFarm.StartAsync(Endpoints, simulator);
        await using var redis = await RedisServer.StartAsync();
        var names = farm.Servers.Select(s => s.Address).ToArray();
        var processes = new List<(RuntimeProcess Process, EnvoyExtProcClient Client, Uri Metrics)>();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var events = new Events(names);
        try
        {
            for (var r = 0; r < replicas; r++)
            {
                int grpc = TestPorts.GetFreeTcpPort(), health = TestPorts.GetFreeTcpPort(), metrics = TestPorts.GetFreeTcpPort();
                var process = RuntimeProcess.Start(binary,
                [
                    "serve", "--grpc-port", Invariant(grpc), "--grpc-health-port", Invariant(health), "--secure-serving=false",
                    "--bind-address", "127.0.0.1", "--metrics-port", Invariant(metrics), "--bbr-grpc-port", "0",
                    "--endpoints", string.Join(",", names),
                    "--replica-state", redis.Url, "--replica-state-interval", Invariant((int)interval.TotalMilliseconds) + "ms",
                ]);
                await process.WaitForPortsAsync([grpc, health, metrics], TimeSpan.FromSeconds(30));
                processes.Add((process, new EnvoyExtProcClient(new Uri($"http://127.0.0.1:{grpc}")), new Uri($"http://127.0.0.1:{metrics}/metrics")));
            }

            await Task.Delay(1500); // first metrics scrape, Redis connection
            using var stop = new CancellationTokenSource(duration);
            var next = -1;
            var requests = 0L;
            var clients = Enumerable.Range(0, concurrency).Select(async c =>
            {
                var random = new Random(c);
                while (!stop.IsCancellationRequested)
                {
                    var client = processes[(Interlocked.Increment(ref next) & int.MaxValue) % replicas].Client;
                    await OneRequestAsync(client, http, events, random.Next(5, 50));
                    Interlocked.Increment(ref requests);
                }
            }).ToList();

            var samples = new List<Sample>();
            var sampler = Task.Run(async () =>
            {
                await Task.Delay(500); // past the ramp-up
                while (!stop.IsCancellationRequested)
                {
                    foreach (var (_, _, metrics) in processes)
                    {
                        var start = Stopwatch.GetTimestamp();
                        var page = await http.GetStringAsync(metrics);
                        var end = Stopwatch.GetTimestamp();
                        var truth = events.Open();
                        var views = Parse(page, names);
                        for (var e = 0; e < names.Length; e++)
                        {
                            samples.Add(new Sample(views[e] - truth[e], events.Changes(e, start - Ticks(interval), end), events.Changes(e, start - Ticks(2 * interval), end),
                                events.Starts(e, start - Ticks(interval), end), Stopwatch.GetElapsedTime(start, end)));
                        }
                    }

                    await Task.Delay(25);
                }
            });

            await Task.WhenAll(clients);
            await sampler;
            var simulatorRequests = farm.Servers.Sum(s => s.RequestsServed);
            return LagResult.Of(replicas, requests, simulatorRequests, samples, duration);
        }
        finally
        {
            foreach (var (process, client, _) in processes)
            {
                client.Dispose();
                await process.DisposeAsync();
            }
        }
    }

    /// <summary>One request: the pick (stream open, counted in flight by the replica), generation at the picked simulator, then the stream ends.</summary>
    private static async Task OneRequestAsync(EnvoyExtProcClient client, HttpClient http, Events events, int maxTokens)
    {
        var body = Encoding.UTF8.GetBytes($$"""{"model":"{{SimulatorOptions.DefaultModel}}","max_tokens":{{maxTokens}},"messages":[{"role":"user","content":"lag probe"}]}""");
        await using var exchange = await client.StartAsync();
        await exchange.SendAllAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [body] }.ToMessages(ExtProcDirection.Request));
        ProcessingResponse response;
        do
        {
            response = await exchange.ReadRequiredAsync(TimeSpan.FromSeconds(15));
        }
        while (response.ResponseCase != ProcessingResponse.ResponseOneofCase.RequestHeaders);

        var endpoint = response.RequestHeaders.Response.HeaderMutation.SetHeaders.Single(h => h.Header.Key == "x-gateway-destination-endpoint").Header.RawValue.ToStringUtf8();
        var index = events.Started(endpoint);
        try
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new("application/json");
            using var reply = await http.PostAsync(new Uri($"http://{endpoint}/v1/chat/completions"), content);
            reply.EnsureSuccessStatusCode();
        }
        finally
        {
            await exchange.CompleteAsync();
            await exchange.ReadToEndAsync(TimeSpan.FromSeconds(15));
            events.Ended(index);
        }
    }

    private static long[] Parse(string page, string[] names)
    {
        var views = new long[names.Length];
        foreach (var line in page.Split('\n'))
        {
            if (!line.StartsWith(Metric + "{", StringComparison.Ordinal))
            {
                continue;
            }

            for (var e = 0; e < names.Length; e++)
            {
                if (line.Contains($"endpoint=\"{names[e]}\"", StringComparison.Ordinal))
                {
                    views[e] += (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
                }
            }
        }

        return views;
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Starts and ends per endpoint, timestamped in order under one lock.</summary>
    private sealed class Events(string[] names)
    {
        private readonly Lock _lock = new();
        private readonly long[] _open = new long[names.Length];
        private readonly List<(long At, int Endpoint, bool Start)> _log = [];

        public int Started(string endpoint)
        {
            var index = Array.IndexOf(names, endpoint);
            lock (_lock)
            {
                _open[index]++;
                _log.Add((Stopwatch.GetTimestamp(), index, true));
            }

            return index;
        }

        public void Ended(int index)
        {
            lock (_lock)
            {
                _open[index]--;
                _log.Add((Stopwatch.GetTimestamp(), index, false));
            }
        }

        public long[] Open()
        {
            lock (_lock)
            {
                return [.. _open];
            }
        }

        public int Changes(int endpoint, long from, long to) => Count(endpoint, from, to, startsOnly: false);

        public int Starts(int endpoint, long from, long to) => Count(endpoint, from, to, startsOnly: true);

        private int Count(int endpoint, long from, long to, bool startsOnly)
        {
            lock (_lock)
            {
                var count = 0;
                for (var i = _log.Count - 1; i >= 0 && _log[i].At >= from; i--)
                {
                    if (_log[i].At <= to && _log[i].Endpoint == endpoint && (!startsOnly || _log[i].Start))
                    {
                        count++;
                    }
                }

                return count;
            }
        }
    }
}

/// <summary>One replica's view of one endpoint against the truth: view − truth, and the endpoint's changes before (and during) the scrape.</summary>
internal readonly record struct Sample(long Error, int ChangesInInterval, int ChangesInTwoIntervals, int StartsInInterval, TimeSpan Scrape);

internal sealed record LagResult(int Replicas, long Requests, long SimulatorRequests, int Samples, double MeanAbsError, long MaxAbsError, double WithinStarts, double WithinOneInterval, double WithinTwoIntervals, double MeanChanges, double ScrapeMs, double RequestsPerSecond)
{
    public static LagResult Of(int replicas, long requests, long simulatorRequests, List<Sample> samples, TimeSpan duration)
    {
        double Share(Func<Sample, bool> within) => samples.Count == 0 ? 0 : (double)samples.Count(within) / samples.Count;
        return new LagResult(
            replicas,
            requests,
            simulatorRequests,
            samples.Count,
            samples.Count == 0 ? 0 : samples.Average(s => Math.Abs(s.Error)),
            samples.Count == 0 ? 0 : samples.Max(s => Math.Abs(s.Error)),
            Share(s => Math.Abs(s.Error) <= s.StartsInInterval),
            Share(s => Math.Abs(s.Error) <= s.ChangesInInterval),
            Share(s => Math.Abs(s.Error) <= s.ChangesInTwoIntervals),
            samples.Count == 0 ? 0 : samples.Average(s => s.ChangesInInterval),
            samples.Count == 0 ? 0 : samples.Average(s => s.Scrape.TotalMilliseconds),
            requests / duration.TotalSeconds);
    }
}
