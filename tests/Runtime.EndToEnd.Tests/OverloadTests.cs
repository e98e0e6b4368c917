using System.Diagnostics;
using System.Globalization;
using System.Text;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Simulation;
using Xunit.Abstractions;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// Overload through the AOT binary: thousands of long-lived picker exchanges at once, and what
/// happens past each limit: the answer is fast and clear (a refused stream, a 429), never a stall,
/// and it is counted on /metrics.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class OverloadTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Http2_StreamsPastTheConnectionLimit_RefusedStreamAndCounted()
    {
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync(["--grpc-max-concurrent-streams", "8"]);
        using var http = new HttpClient();
        Assert.Equal(0, Sample(await ScrapeAsync(http, server), "runtime_http2_streams_refused_total"));

        // Twenty streams before the server's SETTINGS can be honoured: eight open, twelve refused.
        await using var raw = await RawHttp2Connection.ConnectAsync(server.ExtProcPort);
        var ids = await raw.OpenStreamsAsync(20, EnvoyExtProcClient.ProcessPath);
        var resets = await raw.WaitForResetsAsync(12, s_timeout);
        await Task.Delay(200); // nothing more may come: the first eight stay open

        Assert.Equal(12, raw.Resets.Count);
        Assert.All(resets, r => Assert.Equal(RawHttp2Connection.RefusedStream, r.ErrorCode));
        Assert.Equal(ids[8..], resets.Select(r => r.StreamId).Order());
        Assert.False(raw.GoAwayReceived, "the connection itself must survive a refused stream");
        Assert.Equal(12, Sample(await ScrapeAsync(http, server), "runtime_http2_streams_refused_total"));

        // A client that honours the limit is served alongside.
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => client.RunFullDuplexAsync(
            new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [ChatCompletionBodies.Create(2_000)] }, timeout: s_timeout)));
        Assert.All(results, r => r.EnsureValid());
        server.EnsureRunning();
    }

    [Fact]
    public async Task FlowControl_PastTheQueueCap_429WithGieBodyAtOnceAndCounted()
    {
        await using var farm = await SimulatorFarm.StartAsync(2, new SimulatorOptions());
        foreach (var sim in farm.Servers)
        {
            sim.Overrides = new MetricsOverrides { Waiting = 50 }; // saturated: everything queues
        }

        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--endpoints", string.Join(",", farm.Servers.Select(s => s.Address)), "--config-text", """
            apiVersion: inference.networking.x-k8s.io/v1alpha1
            kind: EndpointPickerConfig
            featureGates: [flowControl]
            flowControl:
              maxRequests: 2
              defaultRequestTTL: 30s
            """]);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        using var http = new HttpClient();
        await farm.WaitForScrapesAsync(3, s_timeout);

        using var stopQueued = new CancellationTokenSource();
        var queued = Enumerable.Range(0, 2).Select(_ => client.RunFullDuplexAsync(Request(), timeout: TimeSpan.FromSeconds(40), cancellationToken: stopQueued.Token)).ToList();
        await WaitForAsync(async () => (await ScrapeAsync(http, server)).Contains("runtime_flow_control_band_requests{priority=\"0\"} 2", StringComparison.Ordinal), "two requests queued");

        var clock = Stopwatch.StartNew();
        var rejected = await client.RunFullDuplexAsync(Request(), timeout: s_timeout);
        var elapsed = clock.Elapsed;

        Assert.True(rejected.ImmediateResponse is not null, rejected.Describe());
        Assert.Equal(429, (int)rejected.ImmediateResponse.Status.Code);
        Assert.Contains("queue at capacity", rejected.ImmediateResponse.Body, StringComparison.Ordinal);
        Assert.True(rejected.Status.IsOk, rejected.Status.ToString());
        Assert.True(elapsed < TimeSpan.FromSeconds(3), $"the rejection took {elapsed}");
        Assert.All(queued, q => Assert.False(q.IsCompleted, "a queued request was answered while the pool was saturated"));
        var page = await ScrapeAsync(http, server);
        Assert.Contains(page.Split('\n'), l => l.StartsWith("llm_d_epp_flow_control_requests_total{", StringComparison.Ordinal)
            && l.Contains("outcome=\"RejectedCapacity\"", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));

        await stopQueued.CancelAsync();
        await Task.WhenAll(queued.Select(q => q.ContinueWith(static _ => { }, TaskScheduler.Default)));
        server.EnsureRunning();
    }

    [Fact]
    public async Task EndpointPicker_TwoThousandLongLivedSseExchanges_AllCompleteInBoundedMemory()
    {
        const int exchanges = 2_000;
        const double rssCeilingMiB = 400; // generous: the margin absorbs a noisy machine (see the test output for the peak)
        await using var farm = await SimulatorFarm.StartAsync(3, new SimulatorOptions { MaxRunning = exchanges, TimePerOutputToken = TimeSpan.FromMilliseconds(150) });
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--endpoints", string.Join(",", farm.Servers.Select(s => s.Address))]);
        await farm.WaitForScrapesAsync(2, s_timeout);
        var clients = Enumerable.Range(0, 4).Select(_ => new EnvoyExtProcClient(server.ExtProcAddress) { DefaultTimeout = TimeSpan.FromSeconds(120) }).ToArray();
        using var upstream = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = exchanges }) { Timeout = TimeSpan.FromSeconds(120) };
        var allPicked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var picked = 0;
        using var sampling = new CancellationTokenSource();
        var peakRss = Task.Run(async () =>
        {
            double peak = 0;
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, RssMiB(server.Process.Id));
                await Task.Delay(100, CancellationToken.None);
            }

            return peak;
        });

        try
        {
            var results = await Task.WhenAll(Enumerable.Range(0, exchanges).Select(i => Task.Run(() => LongLivedExchangeAsync(clients[i % clients.Length], upstream, i, () =>
            {
                if (Interlocked.Increment(ref picked) == exchanges)
                {
                    allPicked.TrySetResult();
                }

                return allPicked.Task;
            }))));

            var failures = results.Where(r => r is not null).ToList();
            Assert.True(failures.Count == 0, $"{failures.Count} exchange(s) failed, first: {failures.FirstOrDefault()}");
        }
        finally
        {
            await sampling.CancelAsync();
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }

        var peak = await peakRss;
        output.WriteLine(FormattableString.Invariant($"{exchanges} concurrent SSE exchanges: peak RSS {peak:F0} MiB"));
        Assert.True(peak < rssCeilingMiB, $"peak RSS {peak:F0} MiB with {exchanges} open exchanges; ceiling {rssCeilingMiB} MiB");
        server.EnsureRunning();
    }

    /// <summary>One exchange held open across the pick until all are picked, then the SSE response relayed as Envoy does; null when it was right.</summary>
    private static async Task<string?> LongLivedExchangeAsync(EnvoyExtProcClient client, HttpClient upstream, int index, Func<Task> pickedAndWaitForAll)
    {
        try
        {
            await using var exchange = await client.StartAsync();
            var body = Encoding.UTF8.GetBytes($$"""{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"long-lived {{index}}"}],"max_tokens":6,"stream":true}""");
            await exchange.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
            await exchange.SendAsync(ExtProcMessages.RequestBody(body, endOfStream: true));
            var request = new DirectionTranscript(ExtProcDirection.Request, bodySent: true, trailersSent: false);
            while (!request.IsComplete)
            {
                request.Add(await exchange.ReadRequiredAsync());
            }

            var destination = request.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders.Single(h => h.Header.Key == "x-gateway-destination-endpoint").Header.RawValue.ToStringUtf8();
            await pickedAndWaitForAll().WaitAsync(TimeSpan.FromSeconds(120));

            using var post = new HttpRequestMessage(HttpMethod.Post, $"http://{destination}/v1/chat/completions") { Content = new ByteArrayContent(request.StreamedBody) };
            using var response = await upstream.SendAsync(post, HttpCompletionOption.ResponseHeadersRead);
            await exchange.SendAsync(ExtProcMessages.ResponseHeaders(200, [new("content-type", "text/event-stream")]));
            var sent = new MemoryStream();
            await using (var sse = await response.Content.ReadAsStreamAsync())
            {
                var buffer = new byte[4096];
                int read;
                while ((read = await sse.ReadAsync(buffer)) > 0)
                {
                    await exchange.SendAsync(ExtProcMessages.ResponseBody(buffer.AsSpan(0, read), endOfStream: false));
                    sent.Write(buffer, 0, read);
                }
            }

            await exchange.SendAsync(ExtProcMessages.ResponseBody([], endOfStream: true));
            var reply = new DirectionTranscript(ExtProcDirection.Response, bodySent: true, trailersSent: false);
            while (!reply.IsComplete)
            {
                reply.Add(await exchange.ReadRequiredAsync());
            }

            await exchange.CompleteAsync();
            var extra = await exchange.ReadToEndAsync();
            var status = await exchange.GetStatusAsync();
            var problems = request.Violations.Concat(reply.Violations).ToList();
            if (!reply.StreamedBody.AsSpan().SequenceEqual(sent.ToArray()) || !Encoding.UTF8.GetString(sent.ToArray()).Contains("[DONE]", StringComparison.Ordinal))
            {
                problems.Add("the SSE body did not come back whole");
            }

            if (extra.Count > 0 || !status.IsOk)
            {
                problems.Add($"{extra.Count} extra replies, status {status}");
            }

            return problems.Count == 0 ? null : $"#{index}: {string.Join("; ", problems)}";
        }
        catch (Exception ex) when (ex is TimeoutException or IOException or HttpRequestException or InvalidOperationException or GrpcCallEndedException)
        {
            return $"#{index}: {ex.GetType().Name}: {ex.Message}";
        }
    }

    private static FullDuplexPhase Request() => new()
    {
        Headers = ExtProcMessages.FullDuplexRequestHeaders(),
        BodyChunks = [Encoding.UTF8.GetBytes($$"""{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"{{Guid.NewGuid():N}}"}]}""")],
    };

    private static double RssMiB(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return long.Parse(line[6..].Replace("kB", string.Empty, StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static Task<string> ScrapeAsync(HttpClient http, BinaryRuntimeServer server) =>
        http.GetStringAsync(new Uri($"http://127.0.0.1:{server.MetricsPort}/metrics"));

    private static double Sample(string page, string series)
    {
        var line = page.Split('\n').SingleOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"{series} is not on the page:{Environment.NewLine}{page}");
        return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }
}
