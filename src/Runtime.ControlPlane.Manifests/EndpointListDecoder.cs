using System.Globalization;
using System.Net;
using System.Text.Json;
using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Manifests;

/// <summary>
/// <c>kind: EndpointList</c> (<c>apiVersion: runtime.dev/v1</c>): model servers given as plain
/// addresses, for edge boxes without Kubernetes. Each address or pod entry becomes a ready
/// <see cref="PodResource"/> carrying the list's labels, so an InferencePool selects it as it
/// would a pod.
/// </summary>
/// <example>
/// <code>
/// apiVersion: runtime.dev/v1
/// kind: EndpointList
/// metadata:
///   name: vllm               # pods from addresses are named vllm-0, vllm-1, ...
///   namespace: default       # optional (the source's default namespace)
/// labels:                    # every pod of the list gets these labels ...
///   app: vllm
/// annotations:               # ... and these annotations
///   inference.networking.k8s.io/active-ports: "8000"
/// addresses: ["10.0.0.1", "10.0.0.2"]
/// pods:                      # pods with their own name, labels or annotations (merged over the list's)
///   - name: gpu-a            # optional; defaults to vllm-&lt;index&gt; (index counts addresses first)
///     address: 10.0.0.3
///     labels: {zone: a}
///     annotations: {}
///     ready: true            # optional, default true; false keeps the pod out of the pool
/// </code>
/// </example>
internal static class EndpointListDecoder
{
    public const string Kind = "EndpointList";
    public const string ApiVersion = "runtime.dev/v1";

    private static readonly HashSet<string> s_listFields = ["apiVersion", "kind", "metadata", "labels", "annotations", "addresses", "pods"];
    private static readonly HashSet<string> s_podFields = ["name", "address", "labels", "annotations", "ready"];

    /// <summary>True for our kind; an EndpointList of another API group is someone else's kind (ignored).</summary>
    public static bool Is(JsonElement obj) =>
        String(obj, "kind") == Kind && String(obj, "apiVersion") == ApiVersion;

    /// <param name="lineOf">The line of a field path inside this object.</param>
    public static void Decode(JsonElement obj, string defaultNamespace, Func<string, int> lineOf, Action<PodResource, int> add, Action<int, string> error)
    {
        var metadata = Child(obj, "metadata");
        var listName = String(metadata, "name");
        if (string.IsNullOrEmpty(listName))
        {
            error(lineOf("metadata"), "EndpointList without metadata.name");
            return;
        }

        var what = $"EndpointList \"{listName}\"";
        var @namespace = String(metadata, "namespace") is { Length: > 0 } ns ? ns : defaultNamespace;
        var failed = false;
        void Fail(string path, string message)
        {
            failed = true;
            error(lineOf(path), $"{what}: {message}");
        }

        foreach (var property in obj.EnumerateObject())
        {
            if (!s_listFields.Contains(property.Name))
            {
                Fail(property.Name, $"unknown field \"{property.Name}\" (expected one of {string.Join(", ", s_listFields)})");
            }
        }

        var labels = Map(obj, "labels", Fail);
        var annotations = Map(obj, "annotations", Fail);
        var pods = new List<(PodResource Pod, int Line)>();
        var index = 0;
        if (Child(obj, "addresses") is { } addresses)
        {
            if (addresses.ValueKind != JsonValueKind.Array)
            {
                Fail("addresses", "addresses must be a list of IP addresses");
            }
            else
            {
                foreach (var address in addresses.EnumerateArray())
                {
                    var path = $"addresses[{index}]";
                    var text = address.ValueKind == JsonValueKind.String ? address.GetString() : null;
                    if (!IsAddress(text))
                    {
                        Fail(path, $"{path} must be an IP address, got {address.GetRawText()}");
                    }
                    else
                    {
                        pods.Add((Pod(@namespace, PodName(listName, index), text!, labels, annotations, ready: true), lineOf(path)));
                    }

                    index++;
                }
            }
        }

        if (Child(obj, "pods") is { } podArray)
        {
            if (podArray.ValueKind != JsonValueKind.Array)
            {
                Fail("pods", "pods must be a list of {name, address, labels, annotations, ready}");
            }
            else
            {
                var podIndex = 0;
                foreach (var entry in podArray.EnumerateArray())
                {
                    var path = $"pods[{podIndex++}]";
                    if (DecodePod(entry, path, listName, index++, @namespace, labels, annotations, Fail) is { } pod)
                    {
                        pods.Add((pod, lineOf(path)));
                    }
                }
            }
        }

        if (index == 0)
        {
            Fail(string.Empty, "lists no addresses and no pods");
        }

        if (failed)
        {
            return;
        }

        foreach (var (pod, line) in pods)
        {
            add(pod, line);
        }
    }

    private static PodResource? DecodePod(JsonElement entry, string path, string listName, int index, string @namespace,
        ValueDictionary listLabels, ValueDictionary listAnnotations, Action<string, string> fail)
    {
        if (entry.ValueKind != JsonValueKind.Object)
        {
            fail(path, $"{path} must be a map with an address");
            return null;
        }

        var ok = true;
        void Fail(string field, string message)
        {
            ok = false;
            fail(field, message);
        }

        foreach (var property in entry.EnumerateObject())
        {
            if (!s_podFields.Contains(property.Name))
            {
                Fail($"{path}.{property.Name}", $"{path}: unknown field \"{property.Name}\" (expected one of {string.Join(", ", s_podFields)})");
            }
        }

        var name = PodName(listName, index);
        if (Child(entry, "name") is { } nameNode)
        {
            if (nameNode.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(nameNode.GetString()))
            {
                Fail($"{path}.name", $"{path}.name must be a non-empty string");
            }
            else
            {
                name = nameNode.GetString()!;
            }
        }

        var address = String(entry, "address");
        if (!IsAddress(address))
        {
            Fail($"{path}.address", $"{path}.address must be an IP address");
        }

        var ready = true;
        if (Child(entry, "ready") is { } readyNode)
        {
            if (readyNode.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                Fail($"{path}.ready", $"{path}.ready must be true or false");
            }
            else
            {
                ready = readyNode.GetBoolean();
            }
        }

        var labels = Merge(listLabels, Map(entry, "labels", (p, m) => Fail($"{path}.{p}", $"{path}.{m}")));
        var annotations = Merge(listAnnotations, Map(entry, "annotations", (p, m) => Fail($"{path}.{p}", $"{path}.{m}")));
        return ok ? Pod(@namespace, name, address!, labels, annotations, ready) : null;
    }

    private static PodResource Pod(string @namespace, string name, string address, ValueDictionary labels, ValueDictionary annotations, bool ready) =>
        new(new ResourceMeta(@namespace, name) { Labels = labels, Annotations = annotations }, address, ready);

    private static string PodName(string listName, int index) => string.Create(CultureInfo.InvariantCulture, $"{listName}-{index}");

    private static bool IsAddress(string? text) => !string.IsNullOrEmpty(text) && IPAddress.TryParse(text, out _);

    private static ValueDictionary Merge(ValueDictionary under, ValueDictionary over) =>
        over.Count == 0 ? under : under.Count == 0 ? over : ValueDictionary.From(under.Concat(over).GroupBy(e => e.Key).Select(g => g.Last()));

    private static ValueDictionary Map(JsonElement obj, string field, Action<string, string> fail)
    {
        if (Child(obj, field) is not { } node)
        {
            return ValueDictionary.Empty;
        }

        if (node.ValueKind != JsonValueKind.Object)
        {
            fail(field, $"{field} must be a map of strings");
            return ValueDictionary.Empty;
        }

        var entries = new List<KeyValuePair<string, string>>();
        foreach (var property in node.EnumerateObject())
        {
            switch (property.Value.ValueKind)
            {
                case JsonValueKind.String:
                    entries.Add(new(property.Name, property.Value.GetString()!));
                    break;
                case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                    // Kubernetes would reject an unquoted 8001 here; accepting it costs nothing at the edge.
                    entries.Add(new(property.Name, property.Value.GetRawText()));
                    break;
                default:
                    fail($"{field}.{property.Name}", $"{field}.{property.Name} must be a string");
                    break;
            }
        }

        return ValueDictionary.From(entries);
    }

    private static JsonElement? Child(JsonElement? node, string name) =>
        node is { ValueKind: JsonValueKind.Object } obj && obj.TryGetProperty(name, out var child) && child.ValueKind != JsonValueKind.Null ? child : null;

    private static string? String(JsonElement? node, string name) =>
        Child(node, name) is { ValueKind: JsonValueKind.String } s ? s.GetString() : null;
}
