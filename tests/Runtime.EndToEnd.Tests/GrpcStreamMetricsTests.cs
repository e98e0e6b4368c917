using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Simulation;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// <c>--enable-grpc-stream-metrics</c> (llm-d v0.10) through the AOT binary: after real ext_proc
/// streams that end in different ways, <c>/metrics</c> carries llm-d's three
/// <c>llm_d_epp_extproc_stream*</c> families with its names, help, buckets and gRPC code labels,
/// for the picker's streams only; without the flag none of them is there.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class GrpcStreamMetricsTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Enabled_StreamsCountedByCodeWithLlmDsFamilies_DisabledAbsent()
    {
        await using var farm = await SimulatorFarm.StartAsync(1, new SimulatorOptions());
        var bbrPort = TestPorts.GetFreeTcpPort();
        string[] args =
        [
            "--endpoints", farm[0].Address,
            "--bbr-grpc-port", bbrPort.ToString(CultureInfo.InvariantCulture),
            "--bbr-grpc-health-port", TestPorts.GetFreeTcpPort().ToString(CultureInfo.InvariantCulture),
        ];
        await using (var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", [.. args, "--enable-grpc-stream-metrics"]))
        {
            // Before any stream: the gauge already reads 0, as an unlabelled Go gauge does.
            Assert.Equal(0, Sample(await ScrapeAsync(server), "llm_d_epp_extproc_streams_inflight"));

            using var picker = new EnvoyExtProcClient(server.ExtProcAddress);
            await farm.WaitForScrapesAsync(1, TimeSpan.FromSeconds(20));
            await ExchangeAsync(picker);
            await ExchangeAsync(picker);

            // Envoy breaking the protocol: a second request_headers.
            await using (var bad = await picker.StartAsync())
            {
                await bad.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
                await bad.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
                Assert.Equal(GrpcStatusCode.InvalidArgument, (await bad.GetStatusAsync()).Code);
            }

            // The client resets a stream mid-body; while it is open the gauge counts it.
            var reset = await picker.StartAsync();
            await reset.SendAsync(ExtProcMessages.FullDuplexRequestHeaders());
            await reset.SendAsync(ExtProcMessages.RequestBody("{\"model\":"u8, endOfStream: false));
            await WaitForAsync(server, page => Sample(page, "llm_d_epp_extproc_streams_inflight") == 1);
            reset.Abort();
            await reset.DisposeAsync();

            // The body-based router's streams are not the picker's.
            using (var bbr = new EnvoyExtProcClient(new Uri($"http://127.0.0.1:{bbrPort}")))
            {
                await ExchangeAsync(bbr);
            }

            var page = await WaitForAsync(server, p => Sample(p, "llm_d_epp_extproc_stream_duration_seconds_count") == 4);
            Assert.Equal(2, Sample(page, "llm_d_epp_extproc_streams_total", "code", "OK"));
            Assert.Equal(1, Sample(page, "llm_d_epp_extproc_streams_total", "code", "InvalidArgument"));
            Assert.Equal(1, Sample(page, "llm_d_epp_extproc_streams_total", "code", "Canceled"));
            Assert.Equal(0, Sample(page, "llm_d_epp_extproc_streams_inflight"));
            Assert.InRange(Sample(page, "llm_d_epp_extproc_stream_duration_seconds_sum"), 0, 60);

            Assert.Contains("# HELP llm_d_epp_extproc_streams_inflight [ALPHA] Number of ext_proc gRPC streams currently open.\n# TYPE llm_d_epp_extproc_streams_inflight gauge\n", page, StringComparison.Ordinal);
            Assert.Contains("# HELP llm_d_epp_extproc_stream_duration_seconds [ALPHA] Duration an ext_proc gRPC stream stays open, in seconds.\n# TYPE llm_d_epp_extproc_stream_duration_seconds histogram\n", page, StringComparison.Ordinal);
            Assert.Contains("# HELP llm_d_epp_extproc_streams_total [ALPHA] Total ext_proc gRPC streams completed, by gRPC status code.\n# TYPE llm_d_epp_extproc_streams_total counter\n", page, StringComparison.Ordinal);
            var buckets = Regex.Matches(page, @"^llm_d_epp_extproc_stream_duration_seconds_bucket\{le=""([^""]+)""\}", RegexOptions.Multiline).Select(m => m.Groups[1].Value);
            Assert.Equal(["0.001", "0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "10", "30", "60", "120", "300", "600", "+Inf"], buckets);
            server.EnsureRunning();
        }

        await using (var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve", args))
        {
            using var picker = new EnvoyExtProcClient(server.ExtProcAddress);
            await ExchangeAsync(picker);
            Assert.DoesNotContain("llm_d_epp_extproc_stream", await ScrapeAsync(server), StringComparison.Ordinal);
        }
    }

    private static async Task ExchangeAsync(EnvoyExtProcClient client)
    {
        var request = new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(),
            BodyChunks = [Encoding.UTF8.GetBytes($$"""{"model":"{{SimulatorOptions.DefaultModel}}","messages":[{"role":"user","content":"hi"}]}""")],
        };
        var response = new FullDuplexPhase { Headers = ExtProcMessages.ResponseHeaders(), BodyChunks = ["""{"choices":[]}"""u8.ToArray()] };
        var result = (await client.RunFullDuplexAsync(request, response, timeout: s_timeout)).EnsureValid();
        Assert.Null(result.ImmediateResponse);
    }

    private static async Task<string> ScrapeAsync(BinaryRuntimeServer server)
    {
        using var http = new HttpClient { Timeout = s_timeout };
        return await http.GetStringAsync(new Uri($"http://127.0.0.1:{server.MetricsPort}/metrics"));
    }

    /// <summary>Scrapes until <paramref name="done"/> holds (a stream's end is recorded just after the call closes).</summary>
    private static async Task<string> WaitForAsync(BinaryRuntimeServer server, Func<string, bool> done)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (true)
        {
            var page = await ScrapeAsync(server);
            if (done(page))
            {
                return page;
            }

            Assert.True(DateTime.UtcNow < deadline, "timed out; last page:\n" + page);
            await Task.Delay(50);
        }
    }

    /// <summary>The value of the series <paramref name="name"/> (with one label, when given); -1 when absent.</summary>
    private static double Sample(string page, string name, string? label = null, string? value = null)
    {
        var labels = label is null ? string.Empty : $@"\{{{label}=""{Regex.Escape(value!)}""\}}";
        var match = Regex.Match(page, $@"^{name}{labels} (\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : -1;
    }
}
