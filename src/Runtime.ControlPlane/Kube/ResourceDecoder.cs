using System.Globalization;
using System.Text.Json;
using Runtime.ControlPlane.World;

namespace Runtime.ControlPlane.Kube;

/// <summary>
/// Decodes one Kubernetes object (as the API server returns it, or as a manifest file holds it
/// after YAML → JSON) into a world resource. Reads the JSON tree directly, which is trim-safe
/// and lets one decoder accept both InferencePool shapes (v1 and the older v1alpha2).
/// </summary>
internal static class ResourceDecoder
{
    public const string InferenceGroup = "inference.networking.k8s.io";
    public const string InferenceExperimentalGroup = "inference.networking.x-k8s.io";

    /// <summary>llm-d's own API group: it serves InferenceObjective and InferenceModelRewrite at v1alpha2, same schema.</summary>
    public const string LlmDGroup = "llm-d.ai";

    /// <summary>The kinds the decoder knows, by their Kubernetes <c>kind</c> field.</summary>
    public static ResourceKind? KindOf(string? kind) => kind switch
    {
        "InferencePool" => ResourceKind.InferencePool,
        "InferenceObjective" => ResourceKind.InferenceObjective,
        "InferenceModelRewrite" => ResourceKind.InferenceModelRewrite,
        "Pod" => ResourceKind.Pod,
        "ConfigMap" => ResourceKind.ConfigMap,
        _ => null,
    };

    /// <summary>
    /// Decodes <paramref name="json"/>. Returns false with an error when it is one of our kinds but
    /// malformed; returns true with a null resource for kinds we do not model (they are ignored).
    /// <paramref name="kindHint"/> names the kind when the object lacks one (watch and list items may).
    /// </summary>
    public static bool TryDecode(JsonElement json, string defaultNamespace, out Resource? resource, out string? error, ResourceKind? kindHint = null)
    {
        try
        {
            return TryDecodeCore(json, defaultNamespace, out resource, out error, kindHint);
        }
        catch (InvalidOperationException ex) when (ex.InnerException is System.Text.DecoderFallbackException)
        {
            // JsonDocument accepts strings that are not UTF-8 and GetString throws on them (found by
            // fuzzing): one such object is malformed, it must not fail the whole list or watch.
            resource = null;
            error = "a string field is not valid UTF-8";
            return false;
        }
    }

    private static bool TryDecodeCore(JsonElement json, string defaultNamespace, out Resource? resource, out string? error, ResourceKind? kindHint)
    {
        resource = null;
        error = null;
        if (json.ValueKind != JsonValueKind.Object)
        {
            error = "expected an object";
            return false;
        }

        var kindName = String(json, "kind");
        var kind = KindOf(kindName) ?? (kindName is null ? kindHint : null);
        if (kind is null)
        {
            return true;
        }

        var apiVersion = String(json, "apiVersion") ?? string.Empty;
        var group = apiVersion.Contains('/', StringComparison.Ordinal) ? apiVersion[..apiVersion.IndexOf('/', StringComparison.Ordinal)] : string.Empty;
        var metadata = Child(json, "metadata");
        var name = String(metadata, "name");
        var what = $"{kindName ?? kind.ToString()} \"{name}\"";
        if (string.IsNullOrEmpty(name))
        {
            error = $"{kindName ?? kind.ToString()} without metadata.name";
            return false;
        }

        var meta = new ResourceMeta(String(metadata, "namespace") is { Length: > 0 } ns ? ns : defaultNamespace, name)
        {
            Labels = Map(Child(metadata, "labels")),
            Annotations = Map(Child(metadata, "annotations")),
            CreationTimestamp = Time(metadata, "creationTimestamp"),
            ResourceVersion = String(metadata, "resourceVersion"),
        };
        var spec = Child(json, "spec");
        var problems = new List<string>();
        resource = kind switch
        {
            ResourceKind.InferencePool => DecodePool(meta, group, spec, problems),
            ResourceKind.InferenceObjective => DecodeObjective(meta, spec, problems),
            ResourceKind.InferenceModelRewrite => DecodeRewrite(meta, spec, problems),
            ResourceKind.Pod => DecodePod(meta, metadata, Child(json, "status")),
            _ => new ConfigMapResource(meta, Map(Child(json, "data"))),
        };
        if (problems.Count > 0)
        {
            resource = null;
            error = $"{what}: {string.Join("; ", problems)}";
            return false;
        }

        return true;
    }

    private static InferencePoolResource DecodePool(ResourceMeta meta, string group, JsonElement? spec, List<string> problems)
    {
        ValueDictionary selector;
        var ports = new List<int>();
        var selectorNode = Child(spec, "selector");
        if (Child(selectorNode, "matchLabels") is { } matchLabels)
        {
            selector = Map(matchLabels);
        }
        else
        {
            // v1alpha2: the selector is the label map itself.
            selector = Map(selectorNode);
        }

        if (Child(spec, "targetPorts") is { ValueKind: JsonValueKind.Array } targetPorts)
        {
            foreach (var port in targetPorts.EnumerateArray())
            {
                ports.Add(Int(port, "number") ?? 0);
            }
        }
        else if (Int(spec, "targetPortNumber") is { } single)
        {
            ports.Add(single);
        }

        if (selector.Count == 0)
        {
            problems.Add("spec.selector.matchLabels must have at least one label");
        }

        if (ports.Count is 0 or > 8)
        {
            problems.Add("spec.targetPorts must list 1 to 8 ports");
        }

        if (ports.Any(p => p is < 1 or > 65535))
        {
            problems.Add("every target port must be between 1 and 65535");
        }

        if (ports.Distinct().Count() != ports.Count)
        {
            problems.Add("target ports must be unique");
        }

        return new InferencePoolResource(meta, group.Length == 0 ? InferenceGroup : group, selector, new ValueList<int>(ports))
        {
            AppProtocol = String(spec, "appProtocol"),
            EndpointPickerName = String(Child(spec, "endpointPickerRef") ?? Child(spec, "extensionRef"), "name"),
        };
    }

    private static InferenceObjectiveResource DecodeObjective(ResourceMeta meta, JsonElement? spec, List<string> problems)
    {
        var poolRef = PoolRef(spec, problems);
        var priority = 0;
        if (Child(spec, "priority") is { } value && value.ValueKind != JsonValueKind.Null)
        {
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out priority))
            {
                problems.Add("spec.priority must be an integer");
            }
        }

        return new InferenceObjectiveResource(meta, priority, poolRef);
    }

    private static InferenceModelRewriteResource DecodeRewrite(ResourceMeta meta, JsonElement? spec, List<string> problems)
    {
        var poolRef = PoolRef(spec, problems);
        var rules = new List<ModelRewriteRule>();
        if (Child(spec, "rules") is { ValueKind: JsonValueKind.Array } ruleArray)
        {
            var index = 0;
            foreach (var rule in ruleArray.EnumerateArray())
            {
                var models = new List<string>();
                if (Child(rule, "matches") is { ValueKind: JsonValueKind.Array } matches)
                {
                    foreach (var match in matches.EnumerateArray())
                    {
                        var model = Child(match, "model");
                        var type = String(model, "type") ?? "Exact";
                        var value = String(model, "value");
                        if (type != "Exact" || string.IsNullOrEmpty(value))
                        {
                            problems.Add($"spec.rules[{index}].matches: only model matches of type Exact with a value are supported");
                            continue;
                        }

                        models.Add(value);
                    }
                }

                var targets = new List<WeightedModel>();
                if (Child(rule, "targets") is { ValueKind: JsonValueKind.Array } targetArray)
                {
                    foreach (var target in targetArray.EnumerateArray())
                    {
                        var model = String(target, "modelRewrite");
                        var weight = Int(target, "weight") ?? 1;
                        if (string.IsNullOrEmpty(model) || weight < 0)
                        {
                            problems.Add($"spec.rules[{index}].targets: each target needs modelRewrite and a weight of 0 or more");
                            continue;
                        }

                        targets.Add(new WeightedModel(model, weight));
                    }
                }

                if (targets.Count == 0 || targets.All(t => t.Weight == 0))
                {
                    problems.Add($"spec.rules[{index}] needs at least one target with a positive weight");
                }

                rules.Add(new ModelRewriteRule(new ValueList<string>(models), new ValueList<WeightedModel>(targets.Where(t => t.Weight > 0))));
                index++;
            }
        }

        return new InferenceModelRewriteResource(meta, poolRef, new ValueList<ModelRewriteRule>(rules));
    }

    private static PodResource DecodePod(ResourceMeta meta, JsonElement? metadata, JsonElement? status)
    {
        var ready = false;
        if (Child(status, "conditions") is { ValueKind: JsonValueKind.Array } conditions)
        {
            foreach (var condition in conditions.EnumerateArray())
            {
                if (String(condition, "type") == "Ready")
                {
                    ready = String(condition, "status") == "True";
                }
            }
        }

        return new PodResource(meta, String(status, "podIP"), ready)
        {
            Terminating = Child(metadata, "deletionTimestamp") is { ValueKind: JsonValueKind.String },
        };
    }

    private static PoolReference PoolRef(JsonElement? spec, List<string> problems)
    {
        var poolRef = Child(spec, "poolRef");
        var name = String(poolRef, "name");
        if (string.IsNullOrEmpty(name))
        {
            problems.Add("spec.poolRef.name is required");
        }

        return new PoolReference(String(poolRef, "group") is { Length: > 0 } group ? group : PoolReference.DefaultGroup, name ?? string.Empty);
    }

    private static JsonElement? Child(JsonElement? node, string name) =>
        node is { ValueKind: JsonValueKind.Object } obj && obj.TryGetProperty(name, out var child) && child.ValueKind != JsonValueKind.Null ? child : null;

    private static string? String(JsonElement? node, string name) => Child(node, name) switch
    {
        { ValueKind: JsonValueKind.String } s => s.GetString(),
        { ValueKind: JsonValueKind.Number } n => n.GetRawText(),
        { ValueKind: JsonValueKind.True } => "true",
        { ValueKind: JsonValueKind.False } => "false",
        _ => null,
    };

    private static int? Int(JsonElement? node, string name) => Child(node, name) switch
    {
        { ValueKind: JsonValueKind.Number } n when n.TryGetInt32(out var v) => v,
        { ValueKind: JsonValueKind.String } s when int.TryParse(s.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) => v,
        _ => null,
    };

    private static DateTimeOffset? Time(JsonElement? node, string name) =>
        String(node, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time : null;

    private static ValueDictionary Map(JsonElement? node)
    {
        if (node is not { ValueKind: JsonValueKind.Object } obj)
        {
            return ValueDictionary.Empty;
        }

        var entries = new List<KeyValuePair<string, string>>();
        foreach (var property in obj.EnumerateObject())
        {
            entries.Add(new(property.Name, property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText()));
        }

        return ValueDictionary.From(entries);
    }
}
