using System.Text;
using System.Text.Json;

namespace Runtime.Simulation.Tests;

/// <summary>llm-d roles and data-parallel ranks, and the routing headers a server records.</summary>
public sealed class RolesAndRanksTests
{
    private static StringContent Chat() => new("""{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json");

    [Fact]
    public async Task DataParallelServer_OneServerPerRank_WithItsRole()
    {
        await using var farm = await SimulatorFarm.StartAsync([new SimulatorOptions { Name = "dp", Role = "decode", DataParallelSize = 3 }]);

        Assert.Equal(["dp-rank-0", "dp-rank-1", "dp-rank-2"], farm.Servers.Select(s => s.Name));
        Assert.Equal([0, 1, 2], farm.Servers.Select(s => s.Options.Rank));
        Assert.Equal(3, farm.Servers.Select(s => s.Port).Distinct().Count());
        Assert.Equal($"{farm[1].Address} llm-d.ai/role=decode", farm[1].EndpointEntry);
    }

    [Fact]
    public async Task StartAsync_CountWithRanksFromAFixedPort_PortsDoNotCollide()
    {
        var options = new SimulatorOptions { DataParallelSize = 2, Port = 0 };
        await using var farm = await SimulatorFarm.StartAsync(2, options);
        Assert.Equal(4, farm.Count);
        Assert.Equal(4, farm.Servers.Select(s => s.Port).Distinct().Count());
    }

    [Fact]
    public async Task InferenceRequest_RoutingHeadersAreRecorded()
    {
        await using var farm = await SimulatorFarm.StartAsync([new SimulatorOptions { Role = "decode" }]);
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(farm[0].BaseAddress, "/v1/chat/completions")) { Content = Chat() };
        request.Headers.Add("x-prefiller-host-port", "10.0.0.9:8000");
        (await client.SendAsync(request)).EnsureSuccessStatusCode().Dispose();
        (await client.PostAsync(new Uri(farm[0].BaseAddress, "/v1/chat/completions"), Chat())).EnsureSuccessStatusCode().Dispose();

        Assert.Equal([new ReceivedRouting("/v1/chat/completions", "10.0.0.9:8000", null), new ReceivedRouting("/v1/chat/completions", null, null)], farm[0].ReceivedRouting);
        using var state = JsonDocument.Parse(await client.GetStringAsync(new Uri(farm[0].BaseAddress, "/sim/state")));
        Assert.Equal("decode", state.RootElement.GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.Null, state.RootElement.GetProperty("lastPrefillerHostPort").ValueKind);
    }

    [Fact]
    public void Validate_BadRanksOrBlankRole_Throw()
    {
        Assert.Contains("DataParallelSize 0", Assert.Throws<ArgumentException>(() => new SimulatorOptions { DataParallelSize = 0 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("Role is blank", Assert.Throws<ArgumentException>(() => new SimulatorOptions { Role = " " }.Validate()).Message, StringComparison.Ordinal);
    }
}
