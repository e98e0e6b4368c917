using Runtime.ControlPlane.Kube;
using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Kubernetes.Api;

/// <summary>The REST collection path of each kind we list and watch.</summary>
internal static class KubernetesPaths
{
    /// <summary>The InferencePool API version served under <paramref name="poolGroup"/>.</summary>
    public static string PoolVersion(string poolGroup) => poolGroup switch
    {
        ResourceDecoder.InferenceGroup => "v1",
        ResourceDecoder.InferenceExperimentalGroup => "v1alpha2",
        _ => throw new ArgumentException($"unknown InferencePool group \"{poolGroup}\"", nameof(poolGroup)),
    };

    /// <summary>
    /// <c>/api/v1/namespaces/{ns}/pods</c>, <c>/apis/{group}/{version}/namespaces/{ns}/inferencepools</c>, …;
    /// without a namespace, the cluster-wide collection.
    /// </summary>
    /// <param name="apiGroup">For objectives and rewrites, the group to read them from (GIE's x-k8s.io by default, or llm-d.ai).</param>
    public static string Collection(ResourceKind kind, string? @namespace, string poolGroup, string? apiGroup = null)
    {
        var objectiveGroup = apiGroup ?? ResourceDecoder.InferenceExperimentalGroup;
        var (prefix, plural) = kind switch
        {
            ResourceKind.Pod => ("/api/v1", "pods"),
            ResourceKind.ConfigMap => ("/api/v1", "configmaps"),
            ResourceKind.InferencePool => ($"/apis/{poolGroup}/{PoolVersion(poolGroup)}", "inferencepools"),
            ResourceKind.InferenceObjective => ($"/apis/{objectiveGroup}/v1alpha2", "inferenceobjectives"),
            ResourceKind.InferenceModelRewrite => ($"/apis/{objectiveGroup}/v1alpha2", "inferencemodelrewrites"),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
        return string.IsNullOrEmpty(@namespace)
            ? $"{prefix}/{plural}"
            : $"{prefix}/namespaces/{Uri.EscapeDataString(@namespace)}/{plural}";
    }
}
