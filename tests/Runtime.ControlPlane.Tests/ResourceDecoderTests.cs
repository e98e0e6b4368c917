using System.Text;
using System.Text.Json;
using Runtime.ControlPlane.Kube;
using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Tests;

public class ResourceDecoderTests
{
    private static Resource? Decode(string json, out string? error)
    {
        using var document = JsonDocument.Parse(json);
        ResourceDecoder.TryDecode(document.RootElement, "fallback-ns", out var resource, out error);
        return resource;
    }

    [Theory]
    [InlineData("kind")]
    [InlineData("name")]
    public void StringNotUtf8_MalformedObject_NotAnException(string field)
    {
        // Found by fuzzing (target kube-watch): JsonDocument accepts the bytes, GetString threw.
        var json = Encoding.UTF8.GetBytes("""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns"}}""");
        var at = Encoding.UTF8.GetString(json).IndexOf(field == "kind" ? "Pod" : "\"p\"", StringComparison.Ordinal) + (field == "kind" ? 1 : 1);
        json[at] = 0x81;
        using var document = JsonDocument.Parse(json);

        Assert.False(ResourceDecoder.TryDecode(document.RootElement, "ns", out var resource, out var error, ResourceKind.Pod));
        Assert.Null(resource);
        Assert.Equal("a string field is not valid UTF-8", error);
    }

    [Fact]
    public void InferencePoolV1_SelectorPortsAndPicker()
    {
        var pool = Assert.IsType<InferencePoolResource>(Decode("""
            {"apiVersion":"inference.networking.k8s.io/v1","kind":"InferencePool",
             "metadata":{"name":"llama","namespace":"ml","resourceVersion":"42","creationTimestamp":"2026-01-02T03:04:05Z"},
             "spec":{"selector":{"matchLabels":{"app":"vllm-llama3"}},"targetPorts":[{"number":8000},{"number":8001}],
                     "endpointPickerRef":{"name":"llama-epp","port":{"number":9002}}}}
            """, out var error));

        Assert.Null(error);
        Assert.Equal(new ResourceKey(ResourceKind.InferencePool, "ml", "llama"), pool.Key);
        Assert.Equal("inference.networking.k8s.io", pool.Group);
        Assert.Equal("vllm-llama3", pool.Selector["app"]);
        Assert.Equal([8000, 8001], pool.TargetPorts);
        Assert.Equal("llama-epp", pool.EndpointPickerName);
        Assert.Equal("42", pool.Meta.ResourceVersion);
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), pool.Meta.CreationTimestamp);
    }

    [Fact]
    public void InferencePoolV1Alpha2_OlderShape_Decoded()
    {
        var pool = Assert.IsType<InferencePoolResource>(Decode("""
            {"apiVersion":"inference.networking.x-k8s.io/v1alpha2","kind":"InferencePool","metadata":{"name":"p"},
             "spec":{"selector":{"app":"x"},"targetPortNumber":8000,"extensionRef":{"name":"epp"}}}
            """, out _));

        Assert.Equal("inference.networking.x-k8s.io", pool.Group);
        Assert.Equal("fallback-ns", pool.Meta.Namespace);
        Assert.Equal([8000], pool.TargetPorts);
        Assert.Equal("epp", pool.EndpointPickerName);
    }

    [Theory]
    [InlineData("""{"kind":"InferencePool","metadata":{"name":"p"},"spec":{"targetPorts":[{"number":8000}]}}""", "selector")]
    [InlineData("""{"kind":"InferencePool","metadata":{"name":"p"},"spec":{"selector":{"matchLabels":{"a":"b"}},"targetPorts":[]}}""", "1 to 8 ports")]
    [InlineData("""{"kind":"InferencePool","metadata":{"name":"p"},"spec":{"selector":{"matchLabels":{"a":"b"}},"targetPorts":[{"number":70000}]}}""", "between 1 and 65535")]
    [InlineData("""{"kind":"InferencePool","metadata":{"name":"p"},"spec":{"selector":{"matchLabels":{"a":"b"}},"targetPorts":[{"number":1},{"number":1}]}}""", "unique")]
    [InlineData("""{"kind":"InferenceObjective","metadata":{"name":"o"},"spec":{"priority":"high","poolRef":{"name":"p"}}}""", "priority must be an integer")]
    [InlineData("""{"kind":"InferenceObjective","metadata":{"name":"o"},"spec":{"priority":1}}""", "poolRef.name")]
    [InlineData("""{"kind":"InferenceModelRewrite","metadata":{"name":"r"},"spec":{"poolRef":{"name":"p"},"rules":[{"targets":[]}]}}""", "positive weight")]
    [InlineData("""{"kind":"InferenceModelRewrite","metadata":{"name":"r"},"spec":{"poolRef":{"name":"p"},"rules":[{"matches":[{"model":{"type":"Regex","value":"x"}}],"targets":[{"modelRewrite":"y"}]}]}}""", "Exact")]
    [InlineData("""{"kind":"Pod","metadata":{}}""", "without metadata.name")]
    public void Malformed_ErrorNamesTheProblem(string json, string expected)
    {
        Assert.Null(Decode(json, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownKind_IgnoredWithoutError()
    {
        using var document = JsonDocument.Parse("""{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"}}""");
        Assert.True(ResourceDecoder.TryDecode(document.RootElement, "ns", out var resource, out var error));
        Assert.Null(resource);
        Assert.Null(error);
    }

    [Fact]
    public void NotAnObject_Error()
    {
        using var document = JsonDocument.Parse("[1,2]");
        Assert.False(ResourceDecoder.TryDecode(document.RootElement, "ns", out _, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void Objective_PriorityDefaultsToZeroAndGroupToV1()
    {
        var objective = Assert.IsType<InferenceObjectiveResource>(Decode("""
            {"apiVersion":"inference.networking.x-k8s.io/v1alpha2","kind":"InferenceObjective","metadata":{"name":"chat"},"spec":{"poolRef":{"name":"p"}}}
            """, out _));

        Assert.Equal(0, objective.Priority);
        Assert.Equal(new PoolReference("inference.networking.k8s.io", "p"), objective.PoolRef);
    }

    [Fact]
    public void Rewrite_RulesMatchesAndWeights()
    {
        var rewrite = Assert.IsType<InferenceModelRewriteResource>(Decode("""
            {"kind":"InferenceModelRewrite","metadata":{"name":"canary"},"spec":{"poolRef":{"name":"p"},"rules":[
              {"matches":[{"model":{"type":"Exact","value":"food-review"}}],"targets":[{"modelRewrite":"v1","weight":90},{"modelRewrite":"v2","weight":10}]},
              {"matches":[],"targets":[{"modelRewrite":"base"}]}]}}
            """, out _));

        Assert.Equal(2, rewrite.Rules.Count);
        Assert.Equal(["food-review"], rewrite.Rules[0].Models);
        Assert.Equal([new WeightedModel("v1", 90), new WeightedModel("v2", 10)], rewrite.Rules[0].Targets);
        Assert.Empty(rewrite.Rules[1].Models);
        Assert.Equal([new WeightedModel("base", 1)], rewrite.Rules[1].Targets);
    }

    [Theory]
    [InlineData("""{"podIP":"10.0.0.1","conditions":[{"type":"Ready","status":"True"}]}""", false, true)]
    [InlineData("""{"podIP":"10.0.0.1","conditions":[{"type":"Ready","status":"False"}]}""", false, false)]
    [InlineData("""{"podIP":"10.0.0.1"}""", false, false)]
    [InlineData("""{"podIP":"10.0.0.1","conditions":[{"type":"Ready","status":"True"}]}""", true, true)]
    public void Pod_ReadinessAndTermination(string status, bool deleting, bool ready)
    {
        var deletion = deleting ? ""","deletionTimestamp":"2026-01-01T00:00:00Z" """ : string.Empty;
        var pod = Assert.IsType<PodResource>(Decode($$"""{"kind":"Pod","metadata":{"name":"p","labels":{"app":"x"}{{deletion}}},"status":{{status}}}""", out _));

        Assert.Equal(ready, pod.Ready);
        Assert.Equal(deleting, pod.Terminating);
        Assert.Equal("10.0.0.1", pod.PodIP);
    }

    [Fact]
    public void KindHint_UsedWhenTheObjectHasNoKind()
    {
        using var document = JsonDocument.Parse("""{"metadata":{"name":"cm"},"data":{"a":"b"}}""");
        Assert.True(ResourceDecoder.TryDecode(document.RootElement, "ns", out var resource, out _, ResourceKind.ConfigMap));
        Assert.Equal("b", Assert.IsType<ConfigMapResource>(resource).Data["a"]);
    }

    [Fact]
    public void Equality_IgnoresResourceVersion()
    {
        var a = Decode("""{"kind":"Pod","metadata":{"name":"p","resourceVersion":"1"},"status":{"podIP":"1.1.1.1"}}""", out _);
        var b = Decode("""{"kind":"Pod","metadata":{"name":"p","resourceVersion":"2"},"status":{"podIP":"1.1.1.1"}}""", out _);
        var c = Decode("""{"kind":"Pod","metadata":{"name":"p","resourceVersion":"3"},"status":{"podIP":"1.1.1.2"}}""", out _);

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }
}
