using System.Text.Json;
using System.Text.RegularExpressions;
using Runtime.Configuration.Yaml;
using Runtime.ControlPlane.Kube;
using Runtime.ControlPlane.World;
using Runtime.Plugins.Validation;

namespace Runtime.ControlPlane.Manifests;

/// <summary>
/// Reads a directory of manifests (<c>*.yaml</c>, <c>*.yml</c>, <c>*.json</c>; several YAML
/// documents per file; <c>kind: List</c> with <c>items</c>) into one validated set. Dot-files and
/// dot-directories (a ConfigMap volume's <c>..data</c> and <c>..2026_…</c> internals) are skipped;
/// top-level symlinks are followed. Subdirectories are not read.
/// </summary>
internal static partial class ManifestSetLoader
{
    private static readonly string[] s_extensions = [".yaml", ".yml", ".json"];

    /// <summary>Scans <paramref name="directory"/>; the set is valid only when every file and every cross reference is.</summary>
    public static ManifestSet Load(string directory, string defaultNamespace)
    {
        if (!Directory.Exists(directory))
        {
            return new ManifestSet { Items = [], Errors = [new ManifestError(directory, 0, "the manifest directory does not exist")] };
        }

        var context = new LoadContext(defaultNamespace);
        var incomplete = false;
        var files = 0;
        foreach (var (name, path) in ManifestFiles(directory))
        {
            string text;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception ex) when ((ex is FileNotFoundException or DirectoryNotFoundException) && new FileInfo(path).LinkTarget is not null)
            {
                // A symlink whose target is gone (kubelet removes a key's link just after the ..data swap);
                // the link's removal changes the stamp again.
                context.Error(name, 0, "is a symlink to a file that does not exist");
                continue;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                context.Error(name, 0, $"could not be read: {ex.Message}");
                incomplete = true;
                continue;
            }

            files++;
            if (string.IsNullOrWhiteSpace(text))
            {
                // Far more often a write in progress (truncate, then write) than a file meant to be empty;
                // taking it at its word would delete its resources until the write lands.
                context.Error(name, 0, "is empty (still being written?); delete it or give it content");
                continue;
            }

            if (name.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                LoadJson(context, name, text);
            }
            else
            {
                LoadYaml(context, name, text);
            }
        }

        ManifestSetValidator.Validate(context.Items, context.Errors, context.Warnings);
        return new ManifestSet { Items = context.Items, Errors = context.Errors, Warnings = context.Warnings, Ignored = context.Ignored, Files = files, Incomplete = incomplete };
    }

    /// <summary>Loads manifests given as text (one file's worth); for tests and tools.</summary>
    public static ManifestSet LoadText(string fileName, string text, string defaultNamespace)
    {
        var context = new LoadContext(defaultNamespace);
        if (fileName.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            LoadJson(context, fileName, text);
        }
        else
        {
            LoadYaml(context, fileName, text);
        }

        ManifestSetValidator.Validate(context.Items, context.Errors, context.Warnings);
        return new ManifestSet { Items = context.Items, Errors = context.Errors, Warnings = context.Warnings, Ignored = context.Ignored, Files = 1 };
    }

    /// <summary>The manifest files of the directory's top level, by name (ordinal), as (name, path).</summary>
    internal static IEnumerable<(string Name, string Path)> ManifestFiles(string directory)
    {
        var files = new List<(string, string)>();
        foreach (var path in Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.TopDirectoryOnly))
        {
            var name = Path.GetFileName(path);
            if (name.StartsWith('.') || !s_extensions.Any(e => name.EndsWith(e, StringComparison.OrdinalIgnoreCase))
                || Directory.Exists(path))
            {
                continue;
            }

            files.Add((name, path));
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
        return files;
    }

    private static void LoadYaml(LoadContext context, string file, string text)
    {
        var syntax = new ValidationErrors();
        var documents = YamlToJson.ConvertStream(text, syntax, out var errorPosition);
        if (documents is null)
        {
            foreach (var error in syntax.Errors)
            {
                context.Error(file, errorPosition?.Line ?? 0, error.Message);
            }

            return;
        }

        foreach (var document in documents)
        {
            using (document)
            {
                if (document.Json is null)
                {
                    foreach (var error in document.Errors.Errors)
                    {
                        context.Error(file, document.Positions.Find(error.Path)?.Line ?? document.Start.Line, error.ToString());
                    }

                    continue;
                }

                var positions = document.Positions;
                var start = document.Start.Line;
                LoadObject(context, file, document.Json.RootElement, string.Empty, path => positions.Find(path)?.Line ?? start);
            }
        }
    }

    private static void LoadJson(LoadContext context, string file, string text)
    {
        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(text);
        }
        catch (JsonException ex)
        {
            context.Error(file, (int)(ex.LineNumber ?? 0) + 1, $"JSON syntax error: {ex.Message}");
            return;
        }

        using (json)
        {
            // JSON keeps no positions here: everything points at the file's first line.
            LoadObject(context, file, json.RootElement, string.Empty, _ => 1);
        }
    }

    private static void LoadObject(LoadContext context, string file, JsonElement obj, string path, Func<string, int> lineOf)
    {
        var line = lineOf(path);
        if (obj.ValueKind != JsonValueKind.Object)
        {
            context.Error(file, line, "expected a Kubernetes object (a map with apiVersion, kind and metadata)");
            return;
        }

        var kind = obj.TryGetProperty("kind", out var kindNode) && kindNode.ValueKind == JsonValueKind.String ? kindNode.GetString() : null;
        if (string.IsNullOrEmpty(kind))
        {
            context.Error(file, line, "the object has no kind");
            return;
        }

        if (kind == "List")
        {
            if (!obj.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
            {
                context.Error(file, line, "a List needs an items array");
                return;
            }

            var index = 0;
            foreach (var item in items.EnumerateArray())
            {
                LoadObject(context, file, item, FieldPath.Index(FieldPath.Field(path, "items"), index++), lineOf);
            }

            return;
        }

        if (EndpointListDecoder.Is(obj))
        {
            EndpointListDecoder.Decode(obj, context.DefaultNamespace, sub => lineOf(FieldPath.Field(path, sub)),
                (resource, at) => context.Items.Add(new ManifestItem(resource, file, at)),
                (at, message) => context.Error(file, at, message));
            return;
        }

        if (!ResourceDecoder.TryDecode(obj, context.DefaultNamespace, out var resource, out var error))
        {
            context.Error(file, ErrorLine(error!, sub => lineOf(FieldPath.Field(path, sub)), line), error!);
            return;
        }

        if (resource is null)
        {
            context.Ignored.Add(new IgnoredManifest(kind, file, line));
            return;
        }

        context.Items.Add(new ManifestItem(resource, file, line));
    }

    /// <summary>The line of the first field the decoder's message names ("spec.priority must be …"), else the object's.</summary>
    private static int ErrorLine(string error, Func<string, int> lineOf, int fallback)
    {
        var match = FieldInMessage().Match(error);
        return match.Success ? lineOf(match.Value) : fallback;
    }

    [GeneratedRegex(@"(?<=(^|: |; ))(spec|metadata|data|status)(\.[A-Za-z0-9_-]+|\[[0-9]+\])*")]
    private static partial Regex FieldInMessage();

    private sealed class LoadContext(string defaultNamespace)
    {
        public string DefaultNamespace { get; } = defaultNamespace;

        public List<ManifestItem> Items { get; } = [];

        public List<ManifestError> Errors { get; } = [];

        public List<ManifestError> Warnings { get; } = [];

        public List<IgnoredManifest> Ignored { get; } = [];

        public void Error(string file, int line, string message) => Errors.Add(new ManifestError(file, line, message));
    }
}
