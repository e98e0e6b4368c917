using System.Diagnostics;
using System.Globalization;

namespace Runtime.TestSupport.Hosting;

/// <summary>
/// A real <c>redis-server</c> (the Debian package; <c>./build.sh test</c> installs it) on 127.0.0.1 and
/// a free port, without persistence: tests of the shared replica state run against it, and can kill
/// it and start it again on the same port.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private RuntimeProcess? _process;

    private RedisServer(int port) => Port = port;

    public int Port { get; }

    /// <summary><c>redis://127.0.0.1:PORT</c>.</summary>
    public string Url => "redis://127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    public bool IsRunning => _process is { HasExited: false };

    public static async Task<RedisServer> StartAsync(params string[] extraArguments)
    {
        var server = new RedisServer(TestPorts.GetFreeTcpPort()) { _extra = extraArguments };
        await server.RestartAsync();
        return server;
    }

    private string[] _extra = [];

    /// <summary>Starts it (again) on <see cref="Port"/>, empty: a restarted Redis has lost everything.</summary>
    public async Task RestartAsync()
    {
        var binary = FindRedisServer();
        _process = RuntimeProcess.Start(binary, ["--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", .. _extra]);
        await _process.WaitForPortAsync(Port, TimeSpan.FromSeconds(10));
    }

    /// <summary>SIGKILL: the connection drops without goodbye, as when the Redis pod dies.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            using (var os = Process.GetProcessById(process.Id))
            {
                os.Kill();
            }

            await process.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>Runs <c>redis-cli</c> against this server and returns its output (e.g. <c>INFO stats</c>).</summary>
    public async Task<string> CliAsync(params string[] arguments)
    {
        var cli = Path.Combine(Path.GetDirectoryName(FindRedisServer())!, "redis-cli");
        await using var process = RuntimeProcess.Start(File.Exists(cli) ? cli : "redis-cli", ["-p", Port.ToString(CultureInfo.InvariantCulture), .. arguments]);
        await process.WaitForExitAsync(TimeSpan.FromSeconds(10));
        return process.StandardOutput;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
    }

    private static string FindRedisServer()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Append("/usr/bin").Append("/usr/local/bin"))
        {
            var path = Path.Combine(dir, "redis-server");
            if (dir.Length > 0 && File.Exists(path))
            {
                return path;
            }
        }

        throw new InvalidOperationException("redis-server is not installed: apt-get install redis-server (./build.sh test installs it)");
    }
}
