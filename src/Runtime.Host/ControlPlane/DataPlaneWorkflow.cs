using Microsoft.Extensions.Logging;
using Runtime.Bbr.Mappings;
using Runtime.ControlPlane.Reconcile;
using Runtime.ControlPlane.World;
using Runtime.EndpointPicker.Requests;
using Runtime.Endpoints;
using Runtime.FlowControl;

namespace Runtime.Host.ControlPlane;

/// <summary>The data-plane holders the control plane publishes into; each is read lock-free by the request path.</summary>
internal sealed record DataPlaneTargets(EndpointStore Endpoints, ObjectivePriorities Objectives, ModelRewriteRules Rewrites)
{
    public FlowController? FlowControl { get; init; }

    public BaseModelMappingSource? BaseModels { get; init; }
}

/// <summary>
/// The reconcile functions that turn each round's topology into data-plane state. Each subscribes
/// only to the kinds it reads, so a pod churn does not republish objectives. The precondition
/// waits until every source has synced, so the first published state is a whole world.
/// </summary>
internal static partial class DataPlaneWorkflow
{
    public static ReconcileWorkflow Create(DataPlaneTargets targets, WorldCache cache, ILogger logger) => new()
    {
        Precondition = _ => cache.AllSourcesSynced ? null : "waiting for every source to sync",
        Tasks =
        [
            Subscription.On("endpoints", round => targets.Endpoints.Publish(round.Topology.Endpoints), ResourceKind.InferencePool, ResourceKind.Pod),
            Subscription.On("objectives", round => targets.Objectives.Publish(round.Topology.ObjectivePriorities), ResourceKind.InferencePool, ResourceKind.InferenceObjective),
            Subscription.On("priority-bands", round => SetBands(targets.FlowControl, round, logger), ResourceKind.InferencePool, ResourceKind.InferenceObjective),
            Subscription.On("model-rewrites", round => PublishRewrites(targets.Rewrites, round.Topology), ResourceKind.InferencePool, ResourceKind.InferenceModelRewrite),
            Subscription.On("base-model-mappings", round => PublishBaseModels(targets.BaseModels, round.Topology), ResourceKind.ConfigMap),
        ],
        Postcondition = round => round.Topology.PoolFound ? null : "the InferencePool was not found",
        ErrorHandler = (round, task, ex) => Log.TaskFailed(logger, task, round.Number, ex),
    };

    private static void SetBands(FlowController? flowControl, ReconcileRound round, ILogger logger)
    {
        if (flowControl is null)
        {
            return;
        }

        var changes = flowControl.SetDesiredPriorities(round.Topology.DesiredPriorities);
        if (changes.Added.Count + changes.Reactivated.Count + changes.Draining.Count + changes.Removed.Count > 0)
        {
            Log.Bands(logger, string.Join(',', changes.Added), string.Join(',', changes.Reactivated), string.Join(',', changes.Draining), string.Join(',', changes.Removed));
        }
    }

    private static void PublishRewrites(ModelRewriteRules rewrites, Topology topology)
    {
        static List<ModelRewriteTarget> Targets(IReadOnlyList<WeightedModel> models) => [.. models.Select(m => new ModelRewriteTarget(m.Model, m.Weight))];

        rewrites.Publish(
            topology.Rewrites.ToDictionary(r => r.Key, r => (IReadOnlyList<ModelRewriteTarget>)Targets(r.Value), StringComparer.Ordinal),
            topology.FallbackRewrite is { } fallback ? Targets(fallback) : null,
            topology.RewriteNames,
            topology.FallbackRewriteName);
    }

    private static string? PublishBaseModels(BaseModelMappingSource? baseModels, Topology topology)
    {
        if (baseModels is null)
        {
            return null;
        }

        // A bad ConfigMap is reported and keeps its last good mappings (or none); the good ones still route.
        var result = baseModels.ApplyConfigMaps(topology.BaseModelConfigMaps.Select(c =>
            KeyValuePair.Create($"{c.Meta.Namespace}/{c.Meta.Name}", (IReadOnlyDictionary<string, string>)c.Data)));
        return result.Problems.Count > 0 ? string.Join("; ", result.Problems) : null;
    }

    private static partial class Log
    {
        [LoggerMessage(53, LogLevel.Error, "Reconcile task {Task} failed in round {Round}; it is retried")]
        public static partial void TaskFailed(ILogger logger, string task, long round, Exception exception);

        [LoggerMessage(54, LogLevel.Information, "Priority bands: added [{Added}], reactivated [{Reactivated}], draining [{Draining}], removed [{Removed}]")]
        public static partial void Bands(ILogger logger, string added, string reactivated, string draining, string removed);
    }
}
