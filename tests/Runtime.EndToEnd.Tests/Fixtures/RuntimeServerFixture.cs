namespace Runtime.EndToEnd.Tests.Fixtures;

/// <summary>
/// One server shared by every test class in <see cref="RuntimeServerCollection"/>. The
/// launcher is chosen here, in one place; today it is the binary from RUNTIME_BINARY.
/// If the server cannot start, every test in the collection fails with the reason.
/// If it dies during the run, the fixture's disposal fails the run.
/// </summary>
public sealed class RuntimeServerFixture : IAsyncLifetime, IRuntimeServer
{
    private IRuntimeServer? _server;

    private IRuntimeServer Server => _server ?? throw new InvalidOperationException("The runtime server fixture has not been initialized.");

    public Uri ExtProcAddress => Server.ExtProcAddress;

    public Uri HealthAddress => Server.HealthAddress;

    public int ExtProcPort => Server.ExtProcPort;

    public int HealthPort => Server.HealthPort;

    public int MetricsPort => Server.MetricsPort;

    public string Diagnostics => Server.Diagnostics;

    public async Task InitializeAsync() => _server = await BinaryRuntimeServer.StartFromEnvironmentAsync();

    public void EnsureRunning() => Server.EnsureRunning();

    /// <summary>A client on its own HTTP/2 connection to the ext_proc port.</summary>
    public EnvoyExtProcClient CreateExtProcClient() => new(ExtProcAddress);

    public GrpcHealthClient CreateHealthClient() => new(HealthAddress);

    public async Task DisposeAsync()
    {
        if (_server is null)
        {
            return;
        }

        // A crash mid-run must not hide behind tests that happened to pass before it.
        var crashed = _server is BinaryRuntimeServer { Process.HasExited: true };
        var diagnostics = _server.Diagnostics;
        if (_server is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }

        if (crashed)
        {
            throw new InvalidOperationException($"The runtime exited on its own during the test run.{Environment.NewLine}{diagnostics}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RuntimeServerCollection : ICollectionFixture<RuntimeServerFixture>
{
    public const string Name = "RuntimeServer";
}
