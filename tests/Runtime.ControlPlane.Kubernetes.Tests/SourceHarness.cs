using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Runtime.ControlPlane.Kubernetes.Access;
using Runtime.ControlPlane.World;
using Runtime.TestSupport.Kubernetes;

namespace Runtime.ControlPlane.Kubernetes.Tests;

/// <summary>A fake API server, a real WorldCache and a KubernetesSource between them, with short timings.</summary>
internal sealed class SourceHarness : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    private SourceHarness(FakeKubeApiServer server, WorldCache world, KubernetesSource source, ListLogger log)
    {
        Server = server;
        World = world;
        Source = source;
        Log = log;
    }

    public FakeKubeApiServer Server { get; }

    public WorldCache World { get; }

    public KubernetesSource Source { get; }

    public ListLogger Log { get; }

    public SourceState State => World.Sources[KubernetesSource.Name];

    public static KubernetesSourceOptions FastOptions(params KubernetesKindOptions[] kinds) => new()
    {
        Namespace = "default",
        Kinds = kinds.Length == 0 ? [new KubernetesKindOptions(ResourceKind.Pod)] : kinds,
        PageSize = 3,
        InitialBackoff = TimeSpan.FromMilliseconds(20),
        MaxBackoff = TimeSpan.FromMilliseconds(200),
        WatchTimeout = TimeSpan.FromSeconds(60),
        RelistInterval = TimeSpan.FromMilliseconds(100),
    };

    /// <summary>Starts the server, lets <paramref name="seed"/> fill it, then starts the source (not waiting for sync).</summary>
    public static async Task<SourceHarness> StartAsync(
        KubernetesSourceOptions? options = null,
        Action<FakeKubeApiServer>? seed = null,
        Func<Uri, KubernetesAccess>? access = null,
        X509Certificate2? certificate = null)
    {
        var server = await FakeKubeApiServer.StartAsync(certificate);
        seed?.Invoke(server);
        var world = new WorldCache();
        var log = new ListLogger();
        var source = new KubernetesSource(access?.Invoke(server.Url) ?? new KubernetesAccess(server.Url), options ?? FastOptions(), world, log);
        source.Start();
        return new SourceHarness(server, world, source, log);
    }

    public IReadOnlyDictionary<ResourceKey, Resource> Of(ResourceKind kind) => World.Current.Of(kind);

    public PodResource? Pod(string name) => Of(ResourceKind.Pod).GetValueOrDefault(new ResourceKey(ResourceKind.Pod, "default", name)) as PodResource;

    public Task SyncedAsync() => EventuallyAsync(() => World.AllSourcesSynced, "the source to sync");

    /// <summary>Synced and the first watch of every watched kind open.</summary>
    public async Task WatchingAsync(int watches = 1)
    {
        await SyncedAsync();
        await Server.WaitForWatchesAsync(watches, Deadline);
    }

    public static async Task EventuallyAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Deadline);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }

            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Source.DisposeAsync();
        await Server.DisposeAsync();
    }
}

/// <summary>Collects log lines (event id and text) for assertions.</summary>
internal sealed class ListLogger : ILogger<KubernetesSource>
{
    public ConcurrentQueue<(int EventId, LogLevel Level, string Message)> Entries { get; } = new();

    public int Count(int eventId) => Entries.Count(e => e.EventId == eventId);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((eventId.Id, logLevel, formatter(state, exception)));
}

/// <summary>Kubernetes objects as the API server holds them.</summary>
internal static class KubeObjects
{
    public static string Pod(string name, string ip, bool ready = true, string labels = """{"app":"vllm"}""") => $$$"""
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"{{{name}}}","namespace":"default","labels":{{{labels}}}},
         "status":{"podIP":"{{{ip}}}","conditions":[{"type":"Ready","status":"{{{(ready ? "True" : "False")}}}"}] } }
        """;

    public static string Pool(string name, int port, string apiVersion = "inference.networking.k8s.io/v1") => $$$"""
        {"apiVersion":"{{{apiVersion}}}","kind":"InferencePool","metadata":{"name":"{{{name}}}","namespace":"default"},
         "spec":{"selector":{"matchLabels":{"app":"vllm"}},"targetPorts":[{"number":{{{port}}}}],"endpointPickerRef":{"name":"epp"} } }
        """;

    /// <summary>An InferencePool the decoder rejects (no selector, no ports).</summary>
    public static string BadPool(string name, string apiVersion = "inference.networking.k8s.io/v1") => $$$"""
        {"apiVersion":"{{{apiVersion}}}","kind":"InferencePool","metadata":{"name":"{{{name}}}","namespace":"default"},"spec":{}}
        """;
}
