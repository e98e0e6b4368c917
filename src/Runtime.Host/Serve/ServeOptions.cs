using System.Net;
using Runtime.ExtProc.Codec;
using Runtime.Transport.Grpc;
using Runtime.Transport.Hosting;

namespace Runtime.Host.Serve;

/// <summary>Everything <c>runtime serve</c> needs, bound from flags (names match the Go endpoint picker).</summary>
internal sealed record ServeOptions
{
    public int GrpcPort { get; init; } = 9002;
    public int GrpcHealthPort { get; init; } = 9003;
    public int MetricsPort { get; init; } = 9090;
    public bool SecureServing { get; init; } = true;
    public string? CertPath { get; init; }

    /// <summary>Null = every interface (IPv6 dual-stack where available), as the Go binary binds ":port".</summary>
    public IPAddress? BindAddress { get; init; }

    /// <summary><c>-v</c> and <c>--zap-*</c>.</summary>
    public Cli.LoggingOptions Logging { get; init; } = new();
    public BodySendMode DefaultRequestBodyMode { get; init; } = BodySendMode.FullDuplexStreamed;
    public BodySendMode DefaultResponseBodyMode { get; init; } = BodySendMode.FullDuplexStreamed;
    public GrpcServerOptions Grpc { get; init; } = new();

    /// <summary>
    /// <c>--ha-enable-leader-election</c>: the health port then answers per service name (liveness
    /// always SERVING; readiness, "" and the ext_proc service when synced and leader; others
    /// SERVICE_UNKNOWN). We have no leader election yet: every replica is the leader.
    /// </summary>
    public bool LeaderElection { get; init; }

    /// <summary>
    /// <c>--health-checking</c>: also serve the standard <c>grpc.health.v1.Health</c> on each ext_proc
    /// port, with <c>envoy.service.ext_proc.v3.ExternalProcessor</c> (and "") SERVING.
    /// </summary>
    public bool HealthCheckingOnExtProcPort { get; init; }

    /// <summary>EndpointPickerConfig file (<c>--config-file</c>); neither this nor <see cref="ConfigText"/> → the default configuration.</summary>
    public string? ConfigFile { get; init; }

    /// <summary><c>--watch-config-file</c>: reload <see cref="ConfigFile"/> when it changes (default on; only with a file).</summary>
    public bool WatchConfigFile { get; init; } = true;

    /// <summary>EndpointPickerConfig as text (<c>--config-text</c>); giving both it and <see cref="ConfigFile"/> is an error, as in the Go binary.</summary>
    public string? ConfigText { get; init; }

    /// <summary><c>--allow-experimental-plugins</c> (llm-d v0.10): without it, a config declaring an Alpha plugin type is refused.</summary>
    public bool AllowExperimentalPlugins { get; init; }

    /// <summary>
    /// <c>endpoint-picker</c> (default), or <c>pass-through</c>: echo every message unchanged, for
    /// transport conformance tests and as the baseline of load runs.
    /// </summary>
    public string Processor { get; init; } = EndpointPickerProcessorName;

    public const string EndpointPickerProcessorName = "endpoint-picker";

    public const string PassThroughProcessorName = "pass-through";

    /// <summary><c>--replica-state</c>: share routing state with the pool's other replicas through Redis; null = off.</summary>
    public ReplicaState.ReplicaStateOptions? ReplicaState { get; init; }

    /// <summary>Static endpoints (<c>--endpoints</c>): <c>ip:port [key=value…]</c> entries separated by commas.</summary>
    public string? Endpoints { get; init; }

    /// <summary>File of static endpoints, one per line (<c>--endpoints-file</c>); reloaded when it changes.</summary>
    public string? EndpointsFile { get; init; }

    /// <summary><c>name=priority</c> per InferenceObjective (<c>--objective</c>, repeated).</summary>
    public IReadOnlyList<string> Objectives { get; init; } = [];

    /// <summary><c>model=target[:weight],…</c> per InferenceModelRewrite rule (<c>--model-rewrite</c>, repeated).</summary>
    public IReadOnlyList<string> ModelRewrites { get; init; } = [];

    /// <summary>How often each endpoint's metrics are scraped (<c>--refresh-metrics-interval</c>).</summary>
    public TimeSpan RefreshMetricsInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Scrape target details (<c>--model-server-metrics-*</c>); the config's metrics-data-source wins when present.</summary>
    public string MetricsScheme { get; init; } = "http";

    public string MetricsPath { get; init; } = "/metrics";

    public bool MetricsInsecureSkipVerify { get; init; } = true;

    /// <summary>Port of the body-based router served alongside (<c>--bbr-grpc-port</c>; 0 turns it off).</summary>
    public int BbrGrpcPort { get; init; } = 9004;

    public int BbrGrpcHealthPort { get; init; } = 9005;

    /// <summary>The InferencePool this picker serves (<c>--pool-name</c>); with it the control plane owns endpoints, objectives and rewrites.</summary>
    public string? PoolName { get; init; }

    /// <summary><c>--pool-namespace</c>; empty → $NAMESPACE → "default", as the Go binary does.</summary>
    public string? PoolNamespace { get; init; }

    public string PoolGroup { get; init; } = "inference.networking.k8s.io";

    /// <summary>Standalone mode without CRDs (<c>--endpoint-selector</c>, <c>--endpoint-target-ports</c>): pods matching these labels.</summary>
    public string? EndpointSelector { get; init; }

    public string? EndpointTargetPorts { get; init; }

    /// <summary>A directory of YAML manifests to read the world from instead of the Kubernetes API (<c>--manifests-dir</c>, for the edge).</summary>
    public string? ManifestsDir { get; init; }

    /// <summary>Kubeconfig for running outside a cluster (<c>--kubeconfig</c>); in-cluster config otherwise.</summary>
    public string? Kubeconfig { get; init; }

    /// <summary>Zero: watch each kind incrementally; positive: re-list every kind at this interval instead (<c>--kube-relist-interval</c>).</summary>
    public TimeSpan KubeRelistInterval { get; init; }

    /// <summary>True when a control-plane source (Kubernetes or manifests) owns the endpoints.</summary>
    public bool UsesControlPlane => !string.IsNullOrEmpty(PoolName) || !string.IsNullOrEmpty(EndpointSelector) || !string.IsNullOrEmpty(ManifestsDir);

    /// <summary>True when the Kubernetes API is the source (a pool or selector, no <c>--manifests-dir</c>): an API server is there to ask.</summary>
    public bool UsesKubernetesApi => (!string.IsNullOrEmpty(PoolName) || !string.IsNullOrEmpty(EndpointSelector)) && string.IsNullOrEmpty(ManifestsDir);

    /// <summary>
    /// <c>--metrics-endpoint-auth</c> as it applies: the flag when given, else on exactly when an API
    /// server is there (<see cref="MetricsListener.ResolveAuth"/>). On, <c>/metrics</c> needs a bearer
    /// token that the API server's TokenReview accepts and SubjectAccessReview allows.
    /// </summary>
    public bool MetricsEndpointAuth { get; init; }

    /// <summary><c>--metrics-cert-dir</c>: serve the metrics endpoint over TLS with its <c>tls.crt</c>/<c>tls.key</c> (reloaded on change).</summary>
    public string? MetricsCertDir { get; init; }

    /// <summary><c>--metrics-client-ca-file</c>: the metrics endpoint requires client certificates chaining to this PEM CA.</summary>
    public string? MetricsClientCaFile { get; init; }

    /// <summary><c>--tls-min-version</c> and <c>--tls-cipher-suites</c>: what the secure ext_proc listeners accept.</summary>
    public TlsPolicy TlsPolicy { get; init; } = TlsPolicy.Default;

    /// <summary><c>--disable-endpoint-subset-filter</c>: ignore the gateway's subset hint.</summary>
    public bool DisableEndpointSubsetFilter { get; init; }

    /// <summary><c>--emit-endpoint-scores</c> (llm-d): every scored candidate's weighted score in <c>envoy.lb</c> metadata.</summary>
    public bool EmitEndpointScores { get; init; }

    /// <summary><c>--metrics-staleness-threshold</c>: endpoints with older metrics are left out while any is fresh.</summary>
    public TimeSpan MetricsStalenessThreshold { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary><c>--model-server-metrics-port</c> (deprecated): scrape this port instead of the endpoint's; 0 keeps the endpoint's.</summary>
    public int ModelServerMetricsPort { get; init; }

    /// <summary>
    /// The deprecated metric-name flags given (flag name → metric), applied to the built-in engine
    /// mapping unless the config sets engines itself.
    /// </summary>
    public IReadOnlyDictionary<string, string> MetricNameFlags { get; init; } = new Dictionary<string, string>();

    /// <summary><c>--enable-cert-reload</c>: watch <see cref="CertPath"/> and reload on change; otherwise loaded once.</summary>
    public bool EnableCertReload { get; init; }

    /// <summary><c>--max-buffered-body-bytes</c>; 0: <see cref="Runtime.ExtProc.Buffers.BodyBufferBudget.DefaultLimit"/>.</summary>
    public long MaxBufferedBodyBytes { get; init; }

    /// <summary><c>--buffer-pool-retain-bytes</c>.</summary>
    public long BufferPoolRetainBytes { get; init; } = Runtime.Primitives.Buffers.PooledBuffers.DefaultRetainCeiling;

    /// <summary><c>--thread-scheduling</c>.</summary>
    public ThreadSchedulingPolicy ThreadScheduling { get; init; }

    /// <summary><c>--tracing</c>: a span per ext_proc request, exported as <c>OTEL_*</c> says (Go's default: on).</summary>
    public bool Tracing { get; init; } = true;

    /// <summary><c>--enable-grpc-stream-metrics</c>: llm-d's <c>llm_d_epp_extproc_stream*</c> families for the picker's ext_proc streams.</summary>
    public bool GrpcStreamMetrics { get; init; }

    /// <summary>Deprecation and "no effect" notices of the flags given, logged at start.</summary>
    public IReadOnlyList<string> FlagNotes { get; init; } = [];
}
