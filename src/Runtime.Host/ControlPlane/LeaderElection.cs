using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Runtime.ControlPlane.Kubernetes;
using Runtime.ControlPlane.Kubernetes.Access;
using Runtime.ControlPlane.Kubernetes.Api;
using Runtime.ControlPlane.Kubernetes.Leases;
using Runtime.ControlPlane.Reconcile;
using Runtime.Host.Serve;
using Runtime.Telemetry.Prometheus;

namespace Runtime.Host.ControlPlane;

/// <summary>
/// <c>--ha-enable-leader-election</c>: active-passive replicas on the Lease the Go endpoint picker
/// uses (<c>epp-&lt;namespace&gt;-&lt;pool&gt;.gateway-api-inference-extension.sigs.k8s.io</c> in the
/// pool's namespace, controller-runtime's 15 s / 10 s / 2 s timings). Every replica keeps its
/// world and endpoint metrics warm; only the leader reports ready, so the Service sends traffic to
/// it alone. The Lease is released when shutdown begins, so a standby takes over at once.
/// </summary>
internal sealed partial class LeaderElection : IAsyncDisposable
{
    public const string MasterStatusGauge = "leader_election_master_status";

    private readonly KubernetesApiClient _api;
    private readonly LeaderElector _elector;
    private int _released;

    private LeaderElection(KubernetesApiClient api, LeaderElector elector)
    {
        _api = api;
        _elector = elector;
        elector.LeadershipChanged += leader => Leadership.Set(leader);
    }

    /// <summary>Set while this replica holds the Lease.</summary>
    public ReadinessGate Leadership { get; } = new();

    public string LeaseName => _elector.LeaseName;

    /// <summary>The Lease's name for a pool, as GIE v1.5.0 names it (pkg/epp/server/controller_manager.go).</summary>
    public static string LeaseNameFor(string @namespace, string name) => $"epp-{@namespace}-{name}.gateway-api-inference-extension.sigs.k8s.io";

    public static LeaderElection? TryCreate(ServeOptions options, PoolSelection selection, ILoggerFactory loggers, List<string> errors)
    {
        var name = selection.PoolName;
        if (name is null)
        {
            // Standalone: the Go binary names its pool after the Deployment, taken from the pod's name.
            var pod = Environment.GetEnvironmentVariable("POD_NAME");
            if (string.IsNullOrEmpty(pod) || DeploymentOfPod().Match(pod) is not { Success: true } match)
            {
                errors.Add("--ha-enable-leader-election with --endpoint-selector names the Lease after the Deployment: set POD_NAME to the pod's name (<deployment>-<replicaset hash>-<suffix>), e.g. from the downward API");
                return null;
            }

            name = match.Groups[1].Value;
        }

        KubernetesAccess access;
        try
        {
            access = KubernetesAccess.Resolve(string.IsNullOrEmpty(options.Kubeconfig) ? null : options.Kubeconfig);
        }
        catch (KubernetesConfigException ex)
        {
            errors.Add("--ha-enable-leader-election: cannot reach the Kubernetes API: " + ex.Message);
            return null;
        }

        var api = new KubernetesApiClient(access, TimeProvider.System, loggers.CreateLogger<LeaderElection>());
        var lease = new LeaseClient(api, selection.Namespace, LeaseNameFor(selection.Namespace, name));
        var elector = new LeaderElector(lease, new LeaderElectionOptions(), loggers.CreateLogger("Runtime.ControlPlane.LeaderElection"));
        return new LeaderElection(api, elector);
    }

    public void Start() => _elector.Start();

    /// <summary><c>leader_election_master_status{name}</c> as controller-runtime exports it: 1 on the leader, 0 on a standby.</summary>
    public IDisposable RegisterMetrics(PrometheusExporter exporter) =>
        exporter.AddCollector(MasterStatusGauge, "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.", PrometheusMetricType.Gauge,
            w => w.Add("name", _elector.LeaseName, _elector.IsLeader ? 1 : 0));

    /// <summary>Stops competing and releases the Lease if held (once; later calls do nothing).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            await _elector.DisposeAsync().ConfigureAwait(false);
            _api.Dispose();
        }
    }

    [GeneratedRegex("^(.+)-[a-z0-9]+-[a-z0-9]+$")]
    private static partial Regex DeploymentOfPod();
}
