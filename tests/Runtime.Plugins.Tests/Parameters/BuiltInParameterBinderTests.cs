using System.Text.Json;
using Runtime.Plugins.BuiltIn.Parameters;
using Runtime.Plugins.Validation;

namespace Runtime.Plugins.Tests.Parameters;

public class BuiltInParameterBinderTests
{
    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement;

    [Fact]
    public void Picker_Absent_DefaultsToOneEndpoint()
    {
        Assert.True(BuiltInParameterBinders.Picker.TryBind(default, "p", new ValidationErrors(), out var parameters));
        Assert.Equal(1, parameters!.MaxNumOfEndpoints);
    }

    [Fact]
    public void PrefixCacheScorer_Absent_GoDefaults()
    {
        Assert.True(BuiltInParameterBinders.PrefixCacheScorer.TryBind(default, "p", new ValidationErrors(), out var parameters));

        Assert.True(parameters!.AutoTune);
        Assert.Equal(16, parameters.BlockSizeTokens);
        Assert.Equal(256, parameters.MaxPrefixBlocksToMatch);
        Assert.Equal(0, parameters.MaxPrefixTokensToMatch);
        Assert.Equal(31_250, parameters.LruCapacityPerServer);
        Assert.Equal(256, parameters.MaxBlocksFor(16));
    }

    [Fact]
    public void PrefixCacheScorer_OnlyLegacyBlockSize_AcceptedAndDiscardedAsInGo()
    {
        // GIE v1.5.0: blockSizeTokens keeps its default 16, so blockSize is ignored rather than refused.
        var errors = new ValidationErrors();

        Assert.True(BuiltInParameterBinders.PrefixCacheScorer.TryBind(Json("""{"blockSize": 64, "maxPrefixBlocksToMatch": 512}"""), "p", errors, out var parameters));

        Assert.Equal(16, parameters!.BlockSizeTokens);
        Assert.Equal("p.blockSize: ignored: blockSize is deprecated and blockSizeTokens (16) sets the block size, as in GIE v1.5.0", Assert.Single(errors.Warnings).ToString());
    }

    [Fact]
    public void PrefixCacheScorer_LegacyBlockSizeWithNonPositiveTokens_RejectedAsInGo()
    {
        var errors = new ValidationErrors();

        BuiltInParameterBinders.PrefixCacheScorer.Validate(Json("""{"blockSize": 64, "blockSizeTokens": 0}"""), "p", errors);

        Assert.Equal("p.blockSize: blockSize (64, in characters) is deprecated; set blockSizeTokens (the cache block size in tokens) instead", Assert.Single(errors.Errors).ToString());
    }

    [Fact]
    public void PrefixCacheScorer_AutoTuneOffWithoutBlockSize_Error()
    {
        var errors = new ValidationErrors();

        BuiltInParameterBinders.PrefixCacheScorer.Validate(Json("""{"autoTune": false, "blockSizeTokens": 0, "maxPrefixTokensToMatch": -1}"""), "p", errors);

        Assert.Equal(
            ["p.blockSizeTokens: must be > 0 when autoTune is disabled, got 0", "p.maxPrefixTokensToMatch: must be >= 0, got -1"],
            errors.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void PrefixCacheScorer_MaxPrefixTokens_WinsOverBlocks()
    {
        Assert.True(BuiltInParameterBinders.PrefixCacheScorer.TryBind(Json("""{"maxPrefixTokensToMatch": 1000, "maxPrefixBlocksToMatch": 4}"""), "p", new ValidationErrors(), out var parameters));

        Assert.Equal(62, parameters!.MaxBlocksFor(16));
        Assert.Equal(31, parameters.MaxBlocksFor(32));
    }

    [Fact]
    public void PrefixCacheScorer_LlmDFields_Accepted()
    {
        var errors = new ValidationErrors();

        Assert.True(BuiltInParameterBinders.PrefixCacheScorer.TryBind(Json("""{"prefixMatchInfoProducerName": "p1", "matchLengthWeight": 0.5, "matchLengthScaleTokens": 4096}"""), "p", errors, out var parameters));

        Assert.Equal(("p1", 0.5, 4096), (parameters!.PrefixMatchInfoProducerName, parameters.MatchLengthWeight, parameters.MatchLengthScaleTokens));
        Assert.Empty(errors.Warnings);
    }

    [Fact]
    public void PrefixCacheScorer_LegacyHashBlockSize_WarnsNoEffect()
    {
        var errors = new ValidationErrors();

        BuiltInParameterBinders.PrefixCacheScorer.Validate(Json("""{"hashBlockSize": 5, "blockSizeTokens": 32}"""), "p", errors);

        Assert.False(errors.HasErrors);
        Assert.Equal("p.hashBlockSize: ignored: a setting of releases before GIE v1.0; use blockSizeTokens", Assert.Single(errors.Warnings).ToString());
    }

    [Fact]
    public void UtilizationDetector_OutOfRangeValues_EachReported()
    {
        var errors = new ValidationErrors();

        BuiltInParameterBinders.UtilizationDetector.Validate(Json("""{"queueDepthThreshold": -1, "kvCacheUtilThreshold": 0, "metricsStalenessThreshold": "0s", "headroom": -0.5}"""), "p", errors);

        Assert.Equal(
        [
            "p.queueDepthThreshold: must not be negative, got -1",
            "p.kvCacheUtilThreshold: must be in (0, 1], got 0",
            "p.metricsStalenessThreshold: must be positive, got 0ms",
            "p.headroom: must not be negative, got -0.5",
        ], errors.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void ConcurrencyDetector_UnknownMode_Error()
    {
        var errors = new ValidationErrors();

        BuiltInParameterBinders.ConcurrencyDetector.Validate(Json("""{"concurrencyMode": "bytes", "maxConcurrency": 0}"""), "p", errors);

        Assert.Equal(["p.concurrencyMode: must be \"requests\" or \"tokens\", got \"bytes\"", "p.maxConcurrency: must be positive, got 0"], errors.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void BodyFieldToHeader_GoAndLlmDSpellings_BothAcceptedNotMixed()
    {
        Assert.True(BuiltInParameterBinders.BodyFieldToHeader.TryBind(Json("""{"field_name": "model", "header_name": "X-Gateway-Model-Name"}"""), "p", new ValidationErrors(), out var go));
        Assert.Equal(("model", "X-Gateway-Model-Name"), (go!.FieldName, go.HeaderName));

        Assert.True(BuiltInParameterBinders.BodyFieldToHeader.TryBind(Json("""{"fieldName": "model", "headerName": "X-Model"}"""), "p", new ValidationErrors(), out var llmd));
        Assert.Equal(("model", "X-Model"), (llmd!.FieldName, llmd.HeaderName));

        var errors = new ValidationErrors();
        BuiltInParameterBinders.BodyFieldToHeader.Validate(Json("""{"field_name": "model", "fieldName": "model", "header_name": "bad header"}"""), "p", errors);
        Assert.Equal(["p.fieldName: set either field_name or fieldName, not both", "p.header_name: \"bad header\" is not a valid HTTP header name"], errors.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void MetricsDataSource_Defaults_HttpMetricsPath()
    {
        Assert.True(BuiltInParameterBinders.MetricsDataSource.TryBind(default, "p", new ValidationErrors(), out var parameters));
        Assert.Equal(("http", "/metrics", true), (parameters!.Scheme, parameters.Path, parameters.InsecureSkipVerify));
    }

    [Fact]
    public void ModelServerMetricsExtractor_DuplicateEngine_Error()
    {
        var errors = new ValidationErrors();

        BuiltInParameterBinders.ModelServerMetricsExtractor.Validate(Json("""{"enableMultiEngine": true, "engineConfigs": [{"name": "vllm"}, {"name": "vllm"}, {}]}"""), "p", errors);

        Assert.Equal(["p.engineConfigs[1].name: duplicate engine \"vllm\"", "p.engineConfigs[2].name: is required"], errors.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Binder_FieldNames_ListAcceptedParameters() =>
        Assert.Equal(["maxNumOfEndpoints"], BuiltInParameterBinders.Picker.FieldNames);
}
