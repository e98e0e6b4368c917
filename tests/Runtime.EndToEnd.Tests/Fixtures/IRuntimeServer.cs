namespace Runtime.EndToEnd.Tests.Fixtures;

/// <summary>
/// A running Runtime server as the end-to-end tests see it: only addresses. Where it runs
/// (a published binary, an in-process host) is the launcher's business; launchers that own
/// resources also implement <see cref="IAsyncDisposable"/>.
/// </summary>
public interface IRuntimeServer
{
    /// <summary>Base address of the ext_proc gRPC port (h2c), for example http://127.0.0.1:9002.</summary>
    Uri ExtProcAddress { get; }

    /// <summary>Base address of the grpc.health.v1 port (h2c).</summary>
    Uri HealthAddress { get; }

    int ExtProcPort { get; }

    int HealthPort { get; }

    int MetricsPort { get; }

    /// <summary>What the server said so far (logs), for failure messages.</summary>
    string Diagnostics { get; }

    /// <summary>Throws, with the diagnostics, if the server is no longer running.</summary>
    void EnsureRunning();
}
