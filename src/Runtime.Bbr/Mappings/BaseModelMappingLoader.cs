using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Runtime.Bbr.Mappings;

/// <summary>
/// Reads base-model mappings from YAML files in the Go body-based router's ConfigMap shape:
/// <c>kind: ConfigMap</c> labelled <c>inference.networking.k8s.io/bbr-managed: "true"</c> with
/// <c>data.baseModel</c> and <c>data.adapters</c> (a YAML list, as a string or inline). Files may
/// hold several documents. Every problem is collected with its file and line.
/// </summary>
internal static class BaseModelMappingLoader
{
    public const string ManagedLabel = "inference.networking.k8s.io/bbr-managed";

    public sealed record LoadResult(BaseModelMappings Mappings, IReadOnlyList<string> Errors, int ConfigMaps);

    public static LoadResult LoadDirectory(string directory)
    {
        var files = Directory.EnumerateFiles(directory)
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Where(f => !Path.GetFileName(f).StartsWith('.'))
            .Order(StringComparer.Ordinal);
        var groups = new List<(string, IReadOnlyList<string>)>();
        var errors = new List<string>();
        foreach (var file in files)
        {
            string text;
            try
            {
                text = File.ReadAllText(file);
            }
            catch (IOException ex)
            {
                errors.Add($"{file}: {ex.Message}");
                continue;
            }

            Parse(text, file, groups, errors);
        }

        return new LoadResult(BaseModelMappings.FromGroups(groups), errors, groups.Count);
    }

    /// <summary>Parses one file's documents, adding each managed ConfigMap's group.</summary>
    public static void Parse(string text, string source, List<(string BaseModel, IReadOnlyList<string> Adapters)> groups, List<string> errors)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            errors.Add($"{source}:{ex.Start.Line}: {ex.Message}");
            return;
        }

        foreach (var document in stream.Documents)
        {
            if (document.RootNode is not YamlMappingNode root
                || Scalar(root, "kind") != "ConfigMap"
                || Child(Child(root, "metadata"), "labels") is not YamlMappingNode labels
                || Scalar(labels, ManagedLabel) != "true")
            {
                continue;
            }

            var where = $"{source}:{root.Start.Line}";
            var data = Child(root, "data") as YamlMappingNode;
            var baseModel = data is null ? null : Scalar(data, "baseModel");
            if (string.IsNullOrWhiteSpace(baseModel))
            {
                errors.Add($"{where}: a bbr-managed ConfigMap needs data.baseModel");
                continue;
            }

            var adapters = new List<string>();
            switch (Child(data!, "adapters"))
            {
                case null:
                    break;
                case YamlSequenceNode inline:
                    AddScalars(inline, adapters);
                    break;
                case YamlScalarNode { Value: { } listText }:
                    ParseAdapterList(listText, where, adapters, errors);
                    break;
                default:
                    errors.Add($"{where}: data.adapters must be a YAML list of adapter names");
                    break;
            }

            groups.Add((baseModel.Trim(), adapters));
        }
    }

    /// <summary>
    /// One ConfigMap's group from its data (as the control plane holds ConfigMaps: string values).
    /// Returns false and adds an error when <c>baseModel</c> is missing or <c>adapters</c> is not a YAML list.
    /// </summary>
    public static bool TryParseConfigMapData(IReadOnlyDictionary<string, string> data, string where, List<(string BaseModel, IReadOnlyList<string> Adapters)> groups, List<string> errors)
    {
        if (!data.TryGetValue("baseModel", out var baseModel) || string.IsNullOrWhiteSpace(baseModel))
        {
            errors.Add($"{where}: a bbr-managed ConfigMap needs data.baseModel");
            return false;
        }

        var adapters = new List<string>();
        var errorCount = errors.Count;
        if (data.TryGetValue("adapters", out var listText))
        {
            ParseAdapterList(listText, where, adapters, errors);
        }

        if (errors.Count > errorCount)
        {
            return false;
        }

        groups.Add((baseModel.Trim(), adapters));
        return true;
    }

    // ConfigMap data values are strings: the list is YAML inside the string.
    private static void ParseAdapterList(string listText, string where, List<string> adapters, List<string> errors)
    {
        try
        {
            var inner = new YamlStream();
            inner.Load(new StringReader(listText));
            if (inner.Documents.Count > 0 && inner.Documents[0].RootNode is YamlSequenceNode parsed)
            {
                AddScalars(parsed, adapters);
            }
            else if (inner.Documents.Count > 0 && inner.Documents[0].RootNode is YamlScalarNode { Style: ScalarStyle.Plain, Value: "null" or "Null" or "NULL" or "~" or "" })
            {
                // adapters: null is no adapters, as Go's YAML decoder reads it.
            }
            else if (!string.IsNullOrWhiteSpace(listText))
            {
                errors.Add($"{where}: data.adapters must be a YAML list of adapter names");
            }
        }
        catch (YamlException ex)
        {
            errors.Add($"{where}: data.adapters is not valid YAML: {ex.Message}");
        }
    }

    private static void AddScalars(YamlSequenceNode list, List<string> into)
    {
        foreach (var item in list)
        {
            // Trimmed, and empty entries dropped, as the Go router does.
            if (item is YamlScalarNode { Value: { } name } && name.Trim() is { Length: > 0 } trimmed)
            {
                into.Add(trimmed);
            }
        }
    }

    private static YamlNode? Child(YamlNode? node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    private static string? Scalar(YamlNode? node, string key) => (Child(node, key) as YamlScalarNode)?.Value;
}
