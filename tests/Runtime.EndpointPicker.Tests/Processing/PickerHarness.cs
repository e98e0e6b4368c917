using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging.Abstractions;
using Runtime.EndpointPicker.Admission;
using Runtime.EndpointPicker.Requests;
using Runtime.Endpoints;
using Runtime.Plugins.Saturation;
using Runtime.Proto.Envoy.Config.Core.V3;
using Runtime.Scheduling;
using Runtime.Telemetry.Prometheus;
using Runtime.TestSupport.ExtProc;

namespace Runtime.EndpointPicker.Tests.Processing;

/// <summary>
/// The endpoint picker's processor on the real in-process transport, over a fixed pool and a
/// scheduler the test steers, with its metrics rendered on demand.
/// </summary>
internal sealed class PickerHarness : IAsyncDisposable
{
    public static readonly Endpoint PodA = new("pod-a", "10.0.0.1", 8000);
    public static readonly Endpoint PodB = new("pod-b", "10.0.0.2", 8000);

    private readonly PrometheusExporter _exporter;

    private PickerHarness(ExtProcTestServer server, EndpointStore store, ScriptedScheduler scheduler, ModelRewriteRules rewrites, EndpointPickerMetrics metrics, PrometheusExporter exporter)
    {
        Server = server;
        Store = store;
        Scheduler = scheduler;
        Rewrites = rewrites;
        Metrics = metrics;
        _exporter = exporter;
    }

    public ExtProcTestServer Server { get; }

    public EnvoyExtProcClient Client => Server.Client;

    public EndpointStore Store { get; }

    public ScriptedScheduler Scheduler { get; }

    public ModelRewriteRules Rewrites { get; }

    public EndpointPickerMetrics Metrics { get; }

    public static async Task<PickerHarness> StartAsync(bool emitEndpointScores = false)
    {
        var store = new EndpointStore();
        store.Publish([PodA, PodB]);
        var scheduler = new ScriptedScheduler();
        var rewrites = new ModelRewriteRules();
        var metrics = new EndpointPickerMetrics("pool", "ns");
        var exporter = new PrometheusExporter(new PrometheusExporterOptions { MeterFilter = m => ReferenceEquals(m, metrics.Meter) });
        var context = new EndpointPickerContext(store, scheduler, new RequestAdmission(NeverSaturatedDetector.Instance, null, metrics), new ObjectivePriorities(), rewrites, metrics, NullLogger.Instance)
        {
            EmitEndpointScores = emitEndpointScores,
        };
        var server = await ExtProcTestServer.StartAsync(new EndpointPickerProcessor(context));
        return new PickerHarness(server, store, scheduler, rewrites, metrics, exporter);
    }

    public EndpointState State(Endpoint endpoint) => Store.Current.Endpoints.ToArray().Single(s => s.Endpoint.Equals(endpoint));

    public string RenderMetrics() => _exporter.Render();

    /// <summary>Envoy's report of the endpoint it really used, as response-headers metadata.</summary>
    public static Metadata ServedMetadata(Endpoint served)
    {
        var metadata = new Metadata();
        metadata.FilterMetadata["envoy.lb"] = new Struct { Fields = { ["x-gateway-destination-endpoint-served"] = Value.ForString(served.HostPort) } };
        return metadata;
    }

    /// <summary>The gateway's subset hint: only these endpoints may be picked.</summary>
    public static Metadata SubsetHint(params string[] hostPorts)
    {
        var list = new ListValue();
        list.Values.AddRange(hostPorts.Select(Value.ForString));
        var metadata = new Metadata();
        metadata.FilterMetadata["envoy.lb.subset_hint"] = new Struct { Fields = { ["x-gateway-destination-endpoint-subset"] = new Value { ListValue = list } } };
        return metadata;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _exporter.Dispose();
        Metrics.Dispose();
    }
}

/// <summary>Picks the first candidate, or filters everything out when told to; remembers what it saw.</summary>
internal sealed class ScriptedScheduler : IScheduler
{
    public bool FilterAll { get; set; }

    public string? LastTargetModel { get; private set; }

    public string[] LastCandidates { get; private set; } = [];

    public MetricKinds RequiredMetrics => MetricKinds.None;

    public void Schedule(SchedulingRequest request, ReadOnlySpan<EndpointState> candidates, SchedulingResult result)
    {
        LastTargetModel = request.TargetModel;
        LastCandidates = candidates.ToArray().Select(c => c.Endpoint.Name).ToArray();
        if (FilterAll)
        {
            result.Status = SchedulingStatus.AllFiltered;
            return;
        }

        if (result.RecordScores)
        {
            // As a profile records them: every candidate's weighted total, before the pick.
            result.SetScores(candidates, Enumerable.Range(0, candidates.Length).Select(i => 0.9 - (0.5 * i)).ToArray());
        }

        result.Status = SchedulingStatus.Picked;
        result.Add(candidates[0]);
    }
}

/// <summary>Tests that count pooled buffers process-wide must not run beside other tests.</summary>
[CollectionDefinition(nameof(PooledBufferCounter), DisableParallelization = true)]
public sealed class PooledBufferCounter;
