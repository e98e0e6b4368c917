using Runtime.Bbr.Mappings;
using Xunit;

namespace Runtime.Bbr.Tests.Mappings;

/// <summary>The Go router's adapters store semantics, applied through <see cref="BaseModelMappingSource.ApplyConfigMaps"/>.</summary>
public sealed class BaseModelConfigMapSetTests : IDisposable
{
    private readonly BaseModelMappingSource _source = new(BaseModelMappings.Empty);

    public void Dispose() => _source.Dispose();

    private static KeyValuePair<string, IReadOnlyDictionary<string, string>> ConfigMap(string key, string? baseModel, string? adapters = null)
    {
        var data = new Dictionary<string, string>();
        if (baseModel is not null)
        {
            data["baseModel"] = baseModel;
        }

        if (adapters is not null)
        {
            data["adapters"] = adapters;
        }

        return KeyValuePair.Create(key, (IReadOnlyDictionary<string, string>)data);
    }

    private string? BaseOf(string model) => _source.Current.TryGetBaseModel(model, out var baseModel) ? baseModel : null;

    [Fact]
    public void Apply_TrimsAndDropsEmptyAdapters_BaseMapsToItself()
    {
        var result = _source.ApplyConfigMaps([ConfigMap("ml/llama", "  meta/llama \n", "- ' sql-lora '\n- ''\n-   \n- food\n")]);

        Assert.Empty(result.Problems);
        Assert.Equal(1, result.ConfigMaps);
        Assert.Equal("meta/llama", BaseOf("sql-lora"));
        Assert.Equal("meta/llama", BaseOf("food"));
        Assert.Equal("meta/llama", BaseOf("meta/llama"));
        Assert.Equal(3, _source.Current.Count);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  \n")]
    [InlineData("null")]
    [InlineData("[]")]
    public void Apply_NoAdapters_JustTheBaseModel(string? adapters)
    {
        var result = _source.ApplyConfigMaps([ConfigMap("ml/llama", "meta/llama", adapters)]);

        Assert.Empty(result.Problems);
        Assert.Equal("meta/llama", BaseOf("meta/llama"));
        Assert.Equal(1, _source.Current.Count);
    }

    [Fact]
    public void Apply_SharedBaseModel_KnownUntilTheLastConfigMapGoes()
    {
        _source.ApplyConfigMaps([ConfigMap("ml/a", "llama", "- a1"), ConfigMap("ml/b", "llama", "- b1")]);
        Assert.Equal("llama", BaseOf("b1"));

        _source.ApplyConfigMaps([ConfigMap("ml/b", "llama", "- b1")]);
        Assert.Null(BaseOf("a1"));
        Assert.Equal("llama", BaseOf("llama"));

        var result = _source.ApplyConfigMaps([]);
        Assert.True(result.Changed);
        Assert.Null(BaseOf("llama"));
        Assert.Null(BaseOf("b1"));
    }

    [Fact]
    public void Apply_ConfigMapTurnsInvalid_KeepsItsLastGoodMappingsAndReportsOnce()
    {
        _source.ApplyConfigMaps([ConfigMap("ml/llama", "llama", "- sql")]);

        var broken = _source.ApplyConfigMaps([ConfigMap("ml/llama", null, "- sql\n- food")]);
        var again = _source.ApplyConfigMaps([ConfigMap("ml/llama", null, "- sql\n- food")]);

        Assert.Equal(["ConfigMap ml/llama: a bbr-managed ConfigMap needs data.baseModel; keeping its previous mappings"], broken.NewProblems);
        Assert.Empty(again.NewProblems);
        Assert.False(again.Changed);
        Assert.Single(again.Problems);
        Assert.Equal("llama", BaseOf("sql"));
        Assert.Null(BaseOf("food"));
    }

    [Fact]
    public void Apply_NeverValid_IgnoredOthersStillMap()
    {
        var result = _source.ApplyConfigMaps([ConfigMap("ml/bad", "  ", "- x"), ConfigMap("ml/list", "m", "adapters: [a]"), ConfigMap("ml/good", "m", "- a")]);

        Assert.Equal(
        [
            "ConfigMap ml/bad: a bbr-managed ConfigMap needs data.baseModel; ignored",
            "ConfigMap ml/list: data.adapters must be a YAML list of adapter names; ignored",
        ],
            result.Problems);
        Assert.Equal(1, result.ConfigMaps);
        Assert.Equal("m", BaseOf("a"));
        Assert.Null(BaseOf("x"));
    }
}
