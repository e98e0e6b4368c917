using Microsoft.Extensions.Logging.Abstractions;
using Runtime.Bbr.Mappings;
using Xunit;

namespace Runtime.Bbr.Tests.Mappings;

public sealed class BaseModelMappingSourceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bbr-maps-").FullName;

    private static string ConfigMap(string baseModel, params string[] adapters) => $"""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: m
          labels:
            inference.networking.k8s.io/bbr-managed: "true"
        data:
          baseModel: {baseModel}
          adapters: |
        {string.Concat(adapters.Select(a => $"    - {a}\n"))}
        """;

    private BaseModelMappingSource Source() => new(_dir, TimeSpan.FromHours(1), NullLogger.Instance);

    [Fact]
    public void Load_ManagedConfigMaps_MapAdaptersAndBaseToBase()
    {
        File.WriteAllText(Path.Combine(_dir, "a.yaml"), ConfigMap("llama", "sql", "food") + "---\n" + ConfigMap("qwen", "coder"));
        File.WriteAllText(Path.Combine(_dir, "other.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unrelated\ndata:\n  baseModel: ignored\n");
        using var source = Source();

        var map = source.Current;
        Assert.True(map.TryGetBaseModel("sql", out var b1));
        Assert.Equal("llama", b1);
        Assert.True(map.TryGetBaseModel("llama", out var b2));
        Assert.Equal("llama", b2);
        Assert.True(map.TryGetBaseModel("coder", out var b3));
        Assert.Equal("qwen", b3);
        Assert.False(map.TryGetBaseModel("ignored", out _));
        Assert.Empty(source.LastErrors);
    }

    [Fact]
    public void Reload_AtomicRename_PublishesNewMappings()
    {
        File.WriteAllText(Path.Combine(_dir, "a.yaml"), ConfigMap("llama", "sql"));
        using var source = Source();
        Assert.False(source.Current.TryGetBaseModel("food", out _));

        File.WriteAllText(Path.Combine(_dir, ".a.yaml.tmp"), ConfigMap("llama", "sql", "food"));
        File.Move(Path.Combine(_dir, ".a.yaml.tmp"), Path.Combine(_dir, "a.yaml"), overwrite: true);

        Assert.True(source.Reload());
        Assert.True(source.Current.TryGetBaseModel("food", out _));
    }

    [Fact]
    public void Reload_ConfigMapDataSymlinkSwap_PublishesNewMappings()
    {
        // The kubelet's layout: a.yaml -> ..data/a.yaml, ..data -> ..<timestamp>/, swapped atomically.
        Directory.CreateDirectory(Path.Combine(_dir, "..v1"));
        File.WriteAllText(Path.Combine(_dir, "..v1", "a.yaml"), ConfigMap("llama", "sql"));
        Directory.CreateSymbolicLink(Path.Combine(_dir, "..data"), "..v1");
        File.CreateSymbolicLink(Path.Combine(_dir, "a.yaml"), Path.Combine("..data", "a.yaml"));
        using var source = Source();
        Assert.True(source.Current.TryGetBaseModel("sql", out _));

        Directory.CreateDirectory(Path.Combine(_dir, "..v2"));
        File.WriteAllText(Path.Combine(_dir, "..v2", "a.yaml"), ConfigMap("mistral", "sql"));
        Directory.CreateSymbolicLink(Path.Combine(_dir, "..data_tmp"), "..v2");
        // rename(2) replaces the ..data link in one step, as the kubelet does (File.Move cannot move a directory link).
        Assert.Equal(0, Rename(Path.Combine(_dir, "..data_tmp"), Path.Combine(_dir, "..data")));

        Assert.True(source.Reload());
        Assert.True(source.Current.TryGetBaseModel("sql", out var baseModel));
        Assert.Equal("mistral", baseModel);
    }

    [Fact]
    public void Reload_InvalidSet_KeepsLastGoodAndReportsErrorWithLine()
    {
        File.WriteAllText(Path.Combine(_dir, "a.yaml"), ConfigMap("llama", "sql"));
        using var source = Source();

        File.WriteAllText(Path.Combine(_dir, "b.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    inference.networking.k8s.io/bbr-managed: \"true\"\ndata:\n  adapters: x\n");
        File.WriteAllText(Path.Combine(_dir, "c.yaml"), "key: [unclosed\n");

        Assert.False(source.Reload());
        Assert.True(source.Current.TryGetBaseModel("sql", out _));
        Assert.Contains(source.LastErrors, e => e.Contains("b.yaml:1: a bbr-managed ConfigMap needs data.baseModel", StringComparison.Ordinal));
        Assert.Contains(source.LastErrors, e => e.Contains("c.yaml", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("- sql-lora\n- chat-lora\n", true, 2)]
    [InlineData("[sql-lora, chat-lora]", true, 2)]
    [InlineData("", true, 0)]
    [InlineData("not: a list", false, 0)]
    [InlineData("- [unclosed", false, 0)]
    public void TryParseConfigMapData_AdapterListsAsControlPlaneHoldsThem(string adapters, bool valid, int count)
    {
        var groups = new List<(string BaseModel, IReadOnlyList<string> Adapters)>();
        var errors = new List<string>();
        var data = new Dictionary<string, string> { ["baseModel"] = " meta/llama ", ["adapters"] = adapters };

        Assert.Equal(valid, BaseModelMappingLoader.TryParseConfigMapData(data, "ConfigMap ns/m", groups, errors));

        if (valid)
        {
            Assert.Equal("meta/llama", groups[0].BaseModel);
            Assert.Equal(count, groups[0].Adapters.Count);
        }
        else
        {
            Assert.StartsWith("ConfigMap ns/m: data.adapters", errors[0], StringComparison.Ordinal);
            Assert.Empty(groups);
        }
    }

    [Fact]
    public void TryParseConfigMapData_MissingBaseModel_Error()
    {
        var errors = new List<string>();
        Assert.False(BaseModelMappingLoader.TryParseConfigMapData(new Dictionary<string, string> { ["adapters"] = "- a" }, "cm", [], errors));
        Assert.Equal("cm: a bbr-managed ConfigMap needs data.baseModel", errors[0]);
    }

    [Fact]
    public void Load_MissingDirectory_ReportsThatItDoesNotExist()
    {
        var missing = Path.Combine(_dir, "absent");
        using var source = new BaseModelMappingSource(missing, TimeSpan.FromHours(1), NullLogger.Instance);

        Assert.Equal([$"could not be read: {missing} does not exist"], source.LastErrors);
        Assert.Same(BaseModelMappings.Empty, source.Current);
    }

    [Fact]
    public void Publish_ReplacesFixedMappings()
    {
        using var source = new BaseModelMappingSource(BaseModelMappings.Empty);
        source.Publish(BaseModelMappings.FromGroups([("base", ["lora"])]));
        Assert.True(source.Current.TryGetBaseModel("lora", out var baseModel));
        Assert.Equal("base", baseModel);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "rename", SetLastError = true)]
    private static extern int Rename(string oldPath, string newPath);

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
