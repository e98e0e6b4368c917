using Runtime.ControlPlane.Kube;
using Runtime.ControlPlane.Kubernetes.Api;
using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Kubernetes.Tests.Api;

public sealed class KubernetesPathsTests
{
    [Theory]
    [InlineData(ResourceKind.Pod, "ns", ResourceDecoder.InferenceGroup, "/api/v1/namespaces/ns/pods")]
    [InlineData(ResourceKind.ConfigMap, "ns", ResourceDecoder.InferenceGroup, "/api/v1/namespaces/ns/configmaps")]
    [InlineData(ResourceKind.InferencePool, "ns", ResourceDecoder.InferenceGroup, "/apis/inference.networking.k8s.io/v1/namespaces/ns/inferencepools")]
    [InlineData(ResourceKind.InferencePool, "ns", ResourceDecoder.InferenceExperimentalGroup, "/apis/inference.networking.x-k8s.io/v1alpha2/namespaces/ns/inferencepools")]
    [InlineData(ResourceKind.InferenceObjective, "ns", ResourceDecoder.InferenceGroup, "/apis/inference.networking.x-k8s.io/v1alpha2/namespaces/ns/inferenceobjectives")]
    [InlineData(ResourceKind.InferenceModelRewrite, "ns", ResourceDecoder.InferenceGroup, "/apis/inference.networking.x-k8s.io/v1alpha2/namespaces/ns/inferencemodelrewrites")]
    [InlineData(ResourceKind.Pod, null, ResourceDecoder.InferenceGroup, "/api/v1/pods")]
    [InlineData(ResourceKind.InferencePool, "", ResourceDecoder.InferenceGroup, "/apis/inference.networking.k8s.io/v1/inferencepools")]
    public void Collection_KindNamespaceGroup_IsTheRestPath(ResourceKind kind, string? ns, string poolGroup, string expected)
    {
        Assert.Equal(expected, KubernetesPaths.Collection(kind, ns, poolGroup));
    }

    [Fact]
    public void PoolVersion_UnknownGroup_Throws()
    {
        Assert.Throws<ArgumentException>(() => KubernetesPaths.PoolVersion("example.com"));
    }
}
