using System.Globalization;
using System.Text;
using Runtime.EndToEnd.Tests.Fixtures;
using ServingStatus = Runtime.Proto.Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// The image swap users make: the upstream Helm charts' container args, unchanged, against the AOT
/// binary. Each test cites the chart file (GIE v1.5.0) whose rendered args it reproduces.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class DropInTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(15);

    private static string Binary => Environment.GetEnvironmentVariable(BinaryRuntimeServer.BinaryVariable)
        ?? throw new InvalidOperationException($"{BinaryRuntimeServer.BinaryVariable} is not set; publish the binary first.");

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// config/charts/body-based-routing/templates/bbr.yaml@v1.5.0 renders `--streaming`, `--v "3"`,
    /// two `--plugin` values and `--tracing=false` as the only args of the image's entrypoint; the
    /// image's runtime-bbr target sets RUNTIME_ROLE=bbr. Ports and TLS are the test's additions.
    /// </summary>
    [Fact]
    public async Task BbrChartArgs_WithBbrRole_StartTheBodyBasedRouter()
    {
        int grpc = TestPorts.GetFreeTcpPort(), health = TestPorts.GetFreeTcpPort(), metrics = TestPorts.GetFreeTcpPort();
        string[] chartArgs =
        [
            "--streaming", "--v", "3",
            "--plugin", "body-field-to-header:model-extractor:{\"fieldName\":\"model\",\"headerName\":\"X-Gateway-Model-Name\"}",
            "--plugin", "base-model-to-header:base-model-mapper",
            "--tracing=false",
        ];
        await using var process = RuntimeProcess.Start(
            Binary,
            [.. chartArgs, "--grpc-port", Port(grpc), "--grpc-health-port", Port(health), "--metrics-port", Port(metrics), "--secure-serving=false", "--bind-address", "127.0.0.1"],
            new RuntimeProcessOptions { Environment = new Dictionary<string, string?> { ["RUNTIME_ROLE"] = "bbr" } });
        await process.WaitForPortsAsync([grpc, health], s_timeout, CancellationToken.None);

        using var healthClient = new GrpcHealthClient(new Uri($"http://127.0.0.1:{Port(health)}"));
        Assert.Equal(ServingStatus.Serving, (await healthClient.CheckAsync(string.Empty, s_timeout)).Response?.Status);

        using var client = new EnvoyExtProcClient(new Uri($"http://127.0.0.1:{Port(grpc)}"));
        var body = Encoding.UTF8.GetBytes("""{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"hi"}]}""");
        var result = (await client.RunFullDuplexAsync(new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [body] }, timeout: s_timeout)).EnsureValid();
        var headers = result.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders.ToDictionary(h => h.Header.Key, h => h.Header.RawValue.ToStringUtf8(), StringComparer.OrdinalIgnoreCase);
        Assert.Equal("meta-llama/Llama-3.1-8B-Instruct", headers["x-gateway-model-name"]);
    }

    [Fact]
    public async Task BbrHelp_ExitsZeroWithTheGoFlags()
    {
        await using var process = RuntimeProcess.Start(Binary, ["bbr", "--help"]);

        Assert.Equal(0, await process.WaitForExitAsync(s_timeout));
        Assert.All(["--grpc-port", "--streaming", "--plugin", "--tracing", "--metrics-endpoint-auth", "--zap-encoder"], flag =>
            Assert.Contains("  " + flag, process.Output, StringComparison.Ordinal));
    }
}
