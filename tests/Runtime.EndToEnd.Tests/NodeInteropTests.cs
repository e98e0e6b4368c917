using System.Text.Json;
using Runtime.EndToEnd.Tests.Fixtures;

namespace Runtime.EndToEnd.Tests;

/// <summary>
/// An independent gRPC implementation (Node's @grpc/grpc-js) against the server:
/// tests/interop/run.sh installs it from npm on first use and runs interop.js.
/// </summary>
[Collection(RuntimeServerCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class NodeInteropTests(RuntimeServerFixture server)
{
    [Fact]
    public async Task InteropJs_AgainstServer_AllCasesPassAndExitZero()
    {
        await using var process = RuntimeProcess.Start("bash",
        [
            RepositoryPaths.Combine("tests", "interop", "run.sh"),
            $"127.0.0.1:{server.ExtProcPort}",
            $"127.0.0.1:{server.HealthPort}",
        ]);

        // The first run may spend a while in npm ci.
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromMinutes(5));

        var cases = process.StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.StartsWith('{'))
            .Select(line => JsonDocument.Parse(line).RootElement)
            .ToList();
        var report = $"exit {exitCode}{Environment.NewLine}{process.Output}{Environment.NewLine}Server output:{Environment.NewLine}{server.Diagnostics}";
        Assert.True(exitCode == 0, report);
        Assert.True(cases.Count >= 5, report);
        Assert.All(cases, c => Assert.True(c.GetProperty("ok").GetBoolean(), c.ToString()));
    }
}
