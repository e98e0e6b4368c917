using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Simulation;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// <c>--max-buffered-body-bytes</c> through the AOT binary: the endpoint picker refuses a body that
/// would pass the ceiling with 429 and GIE's body, counts it on <c>/metrics</c>, holds nothing
/// afterwards, and keeps picking for requests that fit.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class BodyMemoryTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(15);

    private static byte[] Chat(int promptBytes) =>
        Encoding.UTF8.GetBytes($$"""{"model":"m","messages":[{"role":"user","content":"{{new string('x', promptBytes)}}"}]}""");

    [Fact]
    public async Task BodyPastTheCeiling_429_Counted_SmallerBodiesStillPicked()
    {
        await using var farm = await SimulatorFarm.StartAsync(1, new SimulatorOptions());
        await using var server = await BinaryRuntimeServer.StartFromEnvironmentAsync("serve",
        [
            "--endpoints", farm[0].Address,
            "--bbr-grpc-port", "0",
            "--max-buffered-body-bytes", "96Ki",
            "--buffer-pool-retain-bytes", "1Mi",
        ]);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);

        var big = await client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = BodyChunks.SplitEvery(Chat(220 * 1024), 16 * 1024) }, timeout: s_timeout);

        Assert.Equal(429, (int)big.ImmediateResponse!.Status.Code);
        Assert.StartsWith("inference error: ResourceExhausted - request body buffers are full", big.ImmediateResponse.Body, StringComparison.Ordinal);

        var small = (await client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = BodyChunks.SplitEvery(Chat(40 * 1024), 16 * 1024) }, timeout: s_timeout)).EnsureValid();
        Assert.Null(small.ImmediateResponse);
        var destination = small.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders.Single(h => h.Header.Key == "x-gateway-destination-endpoint");
        Assert.Equal(farm[0].Address, destination.Header.RawValue.ToStringUtf8());

        using var http = new HttpClient { Timeout = s_timeout };
        var page = await http.GetStringAsync(new Uri($"http://127.0.0.1:{server.MetricsPort}/metrics"));
        Assert.Equal(1, Sample(page, "runtime_buffered_body_rejections_total"));
        Assert.Equal(96 * 1024, Sample(page, "runtime_buffered_body_limit_bytes"));
        Assert.Equal(0, Sample(page, "runtime_buffered_body_bytes"));
        Assert.InRange(Sample(page, "runtime_buffer_pool_retained_bytes"), 0, 1024 * 1024);

        // The socket transport's 64 KB blocks: one per open connection waits for the next read (the
        // client's and this scrape's); nothing else is held, and idle ones stay under the same ceiling.
        Assert.InRange(Sample(page, "runtime_transport_buffer_bytes{state=\"in_use\"}"), 64 * 1024, 4 * 64 * 1024);
        Assert.InRange(Sample(page, "runtime_transport_buffer_bytes{state=\"idle\"}"), 0, 1024 * 1024);
    }

    private static double Sample(string page, string name)
    {
        var match = Regex.Match(page, $@"^{Regex.Escape(name)} (\S+)$", RegexOptions.Multiline);
        Assert.True(match.Success, $"{name} is not on the page:\n{page}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
