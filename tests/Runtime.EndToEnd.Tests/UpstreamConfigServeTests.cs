using System.Buffers.Binary;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using Runtime.EndToEnd.Tests.Fixtures;
using Runtime.Simulation;
using Metadata = Runtime.Proto.Envoy.Config.Core.V3.Metadata;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// Each GIE v1.5.0 upstream config fixture that validates also serves: the AOT binary starts with it
/// in front of three simulators and answers one exchange with a pick (the vLLM gRPC fixtures with a
/// gRPC Generate frame; the conformance fixture with its header-selected endpoint and served-endpoint
/// header; the usage reporter with its dynamic metadata).
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class UpstreamConfigServeTests : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private static readonly string s_folder = RepositoryPaths.Combine("tests", "Runtime.Configuration.Tests", "Upstream", "gie-v1.5.0");

    private SimulatorFarm _farm = null!;

    public async Task InitializeAsync() => _farm = await SimulatorFarm.StartAsync(3, new SimulatorOptions());

    public async Task DisposeAsync() => await _farm.DisposeAsync();

    public static TheoryData<string> ValidFixtures() =>
    [
        .. Directory.EnumerateFiles(s_folder, "*.yaml")
            .Where(f => File.ReadAllText(f).Contains("# expect: valid", StringComparison.Ordinal))
            .Select(f => Path.GetFileName(f))
            .Order(StringComparer.Ordinal),
    ];

    private Task<BinaryRuntimeServer> StartAsync(string fixture) =>
        BinaryRuntimeServer.StartFromEnvironmentAsync("serve", ["--endpoints", string.Join(",", _farm.Servers.Select(s => s.Address)), "--config-file", Path.Combine(s_folder, fixture)]);

    private static byte[] Chat(string prompt) => Encoding.UTF8.GetBytes(
        $$"""{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"{{prompt}}"}]}""");

    /// <summary>A gRPC frame holding vLLM's GenerateRequest{request_id = 1, text = 3}.</summary>
    private static byte[] GenerateFrame(string text)
    {
        var id = Encoding.UTF8.GetBytes("r1");
        var prompt = Encoding.UTF8.GetBytes(text);
        var message = new List<byte> { 0x0A, (byte)id.Length };
        message.AddRange(id);
        message.Add(0x1A);
        message.Add((byte)prompt.Length);
        message.AddRange(prompt);
        var frame = new byte[5 + message.Count];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Count);
        message.CopyTo(frame, 5);
        return frame;
    }

    private static string Destination(FullDuplexResult result) =>
        result.Request.HeadersResponse!.RequestHeaders.Response.HeaderMutation.SetHeaders.Single(h => h.Header.Key == "x-gateway-destination-endpoint").Header.RawValue.ToStringUtf8();

    [Theory]
    [MemberData(nameof(ValidFixtures))]
    public async Task Serve_UpstreamFixture_AnswersWithAPick(string fixture)
    {
        var text = await File.ReadAllTextAsync(Path.Combine(s_folder, fixture));
        await using var server = await StartAsync(fixture);
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);

        var grpc = text.Contains("vllmgrpc", StringComparison.Ordinal);
        var conformance = text.Contains("header-based-testing-filter", StringComparison.Ordinal);
        var target = _farm.Servers[1].Address;
        var headers = new List<KeyValuePair<string, string>>(ExtProcMessages.DefaultRequestHeaders);
        if (conformance)
        {
            headers.Add(new("test-epp-endpoint-selection", target));
        }

        var request = new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(path: grpc ? "/vllm.grpc.engine.VllmEngine/Generate" : ExtProcMessages.DefaultPath, headers: headers),
            BodyChunks = [grpc ? GenerateFrame("hello from a gRPC client") : Chat("hello " + fixture)],
        };

        var result = (await client.RunFullDuplexAsync(request, timeout: s_timeout)).EnsureValid();

        Assert.True(result.ImmediateResponse is null, result.Describe());
        var destination = Destination(result);
        Assert.Contains(destination, _farm.Servers.Select(s => s.Address));
        if (conformance)
        {
            Assert.Equal(target, destination);
        }
    }

    [Fact]
    public async Task Serve_ConformanceFixture_VerifierEchoesTheServedEndpoint()
    {
        await using var server = await StartAsync("conformance-base.yaml");
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        var target = _farm.Servers[2].Address;
        var request = new FullDuplexPhase
        {
            Headers = ExtProcMessages.FullDuplexRequestHeaders(headers: [.. ExtProcMessages.DefaultRequestHeaders, new("test-epp-endpoint-selection", target)]),
            BodyChunks = [Chat("conformance")],
        };
        var responseHeaders = ExtProcMessages.ResponseHeaders();
        responseHeaders.MetadataContext = new Metadata();
        responseHeaders.MetadataContext.FilterMetadata["envoy.lb"] = new Struct { Fields = { ["x-gateway-destination-endpoint-served"] = Value.ForString(target) } };
        var response = new FullDuplexPhase { Headers = responseHeaders, BodyChunks = [Encoding.UTF8.GetBytes("""{"choices":[]}""")] };

        var result = (await client.RunFullDuplexAsync(request, response, timeout: s_timeout)).EnsureValid();

        var set = result.Response!.HeadersResponse!.ResponseHeaders.Response.HeaderMutation.SetHeaders;
        Assert.Equal(target, set.Single(h => h.Header.Key == "x-conformance-test-served-endpoint").Header.RawValue.ToStringUtf8());
    }

    [Fact]
    public async Task Serve_RequestAttributeReporterFixture_ReportsUsageAsDynamicMetadata()
    {
        await using var server = await StartAsync("docs-request-attribute-reporter-readme.yaml");
        using var client = new EnvoyExtProcClient(server.ExtProcAddress);
        var request = new FullDuplexPhase { Headers = ExtProcMessages.FullDuplexRequestHeaders(), BodyChunks = [Chat("cost")] };
        var response = new FullDuplexPhase
        {
            Headers = ExtProcMessages.ResponseHeaders(),
            BodyChunks = [Encoding.UTF8.GetBytes("""{"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":31,"total_tokens":42}}""")],
        };

        var result = (await client.RunFullDuplexAsync(request, response, timeout: s_timeout)).EnsureValid();

        var last = result.Response!.BodyResponses[^1];
        Assert.Equal(42, last.DynamicMetadata.Fields["envoy.lb"].StructValue.Fields["x-gateway-inference-request-cost"].NumberValue);
    }
}
