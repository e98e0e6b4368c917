using System.Collections.Concurrent;

namespace Runtime.Transport.Health;

/// <summary><c>grpc.health.v1.HealthCheckResponse.ServingStatus</c>.</summary>
public enum ServingStatus
{
    Unknown = 0,
    Serving = 1,
    NotServing = 2,
    ServiceUnknown = 3,
}

/// <summary>
/// Serving status per health service name, with change notification for Watch. Written by
/// the host (start, readiness, shutdown), read by the health endpoints.
/// </summary>
public sealed class HealthStatusRegistry
{
    /// <summary>The service names the Go endpoint picker answers for.</summary>
    public const string ExtProcService = "envoy.service.ext_proc.v3.ExternalProcessor";
    public const string Liveness = "liveness";
    public const string Readiness = "readiness";

    private readonly ConcurrentDictionary<string, ServingStatus> _statuses = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = NewSignal();

    public HealthStatusRegistry(IEnumerable<string> services)
    {
        foreach (var service in services)
        {
            _statuses[service] = ServingStatus.NotServing;
        }
    }

    /// <summary>True once <see cref="ShutDown"/> ran: watchers send their last status and end.</summary>
    public bool IsShutDown { get; private set; }

    public static HealthStatusRegistry ForEndpointPicker() =>
        new(["", ExtProcService, Liveness, Readiness]);

    public ServingStatus Get(string service) =>
        _statuses.TryGetValue(service, out var status) ? status : ServingStatus.ServiceUnknown;

    public bool IsKnown(string service) => _statuses.ContainsKey(service);

    /// <summary>Sets one service's status; ignored after <see cref="ShutDown"/>, which is final.</summary>
    public void Set(string service, ServingStatus status)
    {
        if (IsShutDown)
        {
            return;
        }

        _statuses[service] = status;
        Signal();
    }

    public void SetAll(ServingStatus status)
    {
        foreach (var key in _statuses.Keys)
        {
            _statuses[key] = status;
        }

        Signal();
    }

    /// <summary>Marks every service NOT_SERVING for good (graceful shutdown).</summary>
    public void ShutDown()
    {
        IsShutDown = true;
        SetAll(ServingStatus.NotServing);
    }

    /// <summary>A task that completes at the next change of any status.</summary>
    public Task WaitForChangeAsync(CancellationToken cancellationToken) =>
        Volatile.Read(ref _changed).Task.WaitAsync(cancellationToken);

    private void Signal() => Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
