using System.Globalization;

namespace Runtime.EndToEnd.Tests.Fixtures;

/// <summary>The runtime binary started as a child process on free loopback ports, cleartext.</summary>
public sealed class BinaryRuntimeServer : IRuntimeServer, IAsyncDisposable
{
    /// <summary>Absolute path of the runtime executable under test. Required.</summary>
    public const string BinaryVariable = "RUNTIME_BINARY";

    /// <summary>Extra server arguments, whitespace-separated (for example a processor chain to compare). Optional.</summary>
    public const string ExtraArgumentsVariable = "RUNTIME_SERVER_ARGS";

    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(30);

    private BinaryRuntimeServer(RuntimeProcess process, int extProcPort, int healthPort, int metricsPort, TimeSpan timeToListening)
    {
        Process = process;
        ExtProcPort = extProcPort;
        HealthPort = healthPort;
        MetricsPort = metricsPort;
        TimeToListening = timeToListening;
    }

    public RuntimeProcess Process { get; }

    public Uri ExtProcAddress => new($"http://127.0.0.1:{ExtProcPort}");

    public Uri HealthAddress => new($"http://127.0.0.1:{HealthPort}");

    public int ExtProcPort { get; }

    public int HealthPort { get; }

    public int MetricsPort { get; }

    /// <summary>From process start until both gRPC ports accepted connections.</summary>
    public TimeSpan TimeToListening { get; }

    public string Diagnostics => $"{Process.CommandLine}{Environment.NewLine}{Process.Output}";

    /// <summary>
    /// Starts the binary named by <see cref="BinaryVariable"/>. Fails loudly when it is not
    /// set or not executable: end-to-end tests must never pass without a server.
    /// </summary>
    /// <remarks>This overload serves the pass-through (echo) processor: the transport and ext_proc conformance tests check the wire, not picks.</remarks>
    public static Task<BinaryRuntimeServer> StartFromEnvironmentAsync(IEnumerable<string>? extraArguments = null, CancellationToken cancellationToken = default) =>
        StartFromEnvironmentAsync("serve", ["--processor", "pass-through", .. extraArguments ?? []], cancellationToken);

    /// <summary>Starts <c>runtime <paramref name="command"/></c> (e.g. <c>bbr</c>) with test ports.</summary>
    public static Task<BinaryRuntimeServer> StartFromEnvironmentAsync(string command, IEnumerable<string>? extraArguments, CancellationToken cancellationToken = default) =>
        StartFromEnvironmentAsync(command, extraArguments, environment: null, cancellationToken);

    /// <summary>The same, with variables added to (a null value: removed from) the inherited environment.</summary>
    public static Task<BinaryRuntimeServer> StartFromEnvironmentAsync(string command, IEnumerable<string>? extraArguments, IReadOnlyDictionary<string, string?>? environment, CancellationToken cancellationToken = default)
    {
        var binary = Environment.GetEnvironmentVariable(BinaryVariable);
        if (string.IsNullOrWhiteSpace(binary))
        {
            throw new InvalidOperationException(
                $"{BinaryVariable} is not set. The end-to-end tests need the runtime binary: publish it "
                + "(dotnet publish src/Runtime.Host -c Release -r linux-x64 -p:StaticWebAssetsEnabled=false "
                + $"-p:CopyOutputSymbolsToPublishDirectory=false -o out) and export {BinaryVariable}=$PWD/out/runtime.");
        }

        if (!File.Exists(binary))
        {
            throw new FileNotFoundException($"{BinaryVariable} points to '{binary}', which does not exist.", binary);
        }

        var fromEnvironment = (Environment.GetEnvironmentVariable(ExtraArgumentsVariable) ?? string.Empty)
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return StartAsync(binary, [.. fromEnvironment, .. extraArguments ?? []], command, environment, cancellationToken);
    }

    /// <summary>
    /// Runs <c>binary serve --grpc-port P --grpc-health-port H --secure-serving=false
    /// --bind-address 127.0.0.1 --metrics-port M [extra]</c> and waits for both gRPC ports.
    /// </summary>
    public static async Task<BinaryRuntimeServer> StartAsync(
        string binary, IEnumerable<string> extraArguments, string command = "serve", IReadOnlyDictionary<string, string?>? environment = null, CancellationToken cancellationToken = default)
    {
        // Reserved ports can still be taken by something outside the tests; start again on new ones.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnFreePortsAsync(binary, extraArguments, command, environment, cancellationToken);
            }
            catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("address already in use", StringComparison.Ordinal))
            {
            }
        }
    }

    private static async Task<BinaryRuntimeServer> StartOnFreePortsAsync(
        string binary, IEnumerable<string> extraArguments, string command, IReadOnlyDictionary<string, string?>? environment, CancellationToken cancellationToken)
    {
        int extProc = TestPorts.GetFreeTcpPort(), health = TestPorts.GetFreeTcpPort(), metrics = TestPorts.GetFreeTcpPort();
        string[] arguments =
        [
            command,
            "--grpc-port", Invariant(extProc),
            "--grpc-health-port", Invariant(health),
            "--secure-serving=false",
            "--bind-address", "127.0.0.1",
            "--metrics-port", Invariant(metrics),
            // serve also runs the body-based router; give it free ports so servers can run side by side.
            .. command == "serve" ? ["--bbr-grpc-port", Invariant(TestPorts.GetFreeTcpPort()), "--bbr-grpc-health-port", Invariant(TestPorts.GetFreeTcpPort())] : Array.Empty<string>(),
            .. extraArguments,
        ];

        var process = RuntimeProcess.Start(binary, arguments, environment is null ? null : new RuntimeProcessOptions { Environment = environment });
        try
        {
            var elapsed = await process.WaitForPortsAsync([extProc, health], s_startTimeout, cancellationToken);
            return new BinaryRuntimeServer(process, extProc, health, metrics, elapsed);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    public void EnsureRunning()
    {
        if (Process.HasExited)
        {
            throw new InvalidOperationException($"The runtime exited with code {Process.ExitCode} while tests were running.{Environment.NewLine}{Diagnostics}");
        }
    }

    public ValueTask DisposeAsync() => Process.DisposeAsync();

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
