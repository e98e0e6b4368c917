using System.Buffers;
using System.Text;
using System.Text.Json;
using Runtime.Bbr.Mappings;
using Runtime.Bbr.Processors;
using Runtime.BodyParsing;
using Runtime.ExtProc.Codec;
using Xunit;

namespace Runtime.Bbr.Tests.Chain;

/// <summary>The processor chain on one request, as the ext_proc handler runs it.</summary>
public class BbrRequestTests
{
    private sealed class PinModelSelector : IModelSelector
    {
        public string TypeName => "test-model-selector";

        public string Name => "pin";

        public IReadOnlyList<string> BodyFields => ["model"];

        public bool ProcessRequest(BbrRequest request)
        {
            request.SetBodyString(request.FieldIndex("model"), "food-review"u8);
            return true;
        }
    }

    private static (BbrRequest Request, bool Ok) Run(BbrChain chain, string body)
    {
        var request = new BbrRequest(chain);
        Assert.Equal(JsonBodyStatus.Ok, request.Scanner.Scan(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(body))));
        request.Begin(new HeaderList());
        var ok = chain.RequestProcessors.All(p => p.ProcessRequest(request));
        return (request, ok);
    }

    private static Dictionary<string, string> Headers(BbrRequest request) =>
        Enumerable.Range(0, request.SetHeaderCount).Select(request.GetSetHeader)
            .ToDictionary(h => h.Name, h => Encoding.UTF8.GetString(h.Value.Span));

    [Fact]
    public void ModelSelector_RewritesOnlyTheModelValueAndLaterProcessorsSeeTheNewModel()
    {
        var mappings = new BaseModelMappingSource(BaseModelMappings.FromGroups([("llama", ["food-review"])]));
        using var metrics = new BbrMetrics();
        var chain = new BbrChain(
            [new PinModelSelector(), new BodyFieldToHeaderProcessor("m", metrics: metrics), new BaseModelToHeaderProcessor("b", mappings)], []);
        const string body = "{ \"model\" : \"sql\",\n  \"messages\": [{\"role\":\"user\",\"content\":\"a\\nb\"}] }";

        var (request, ok) = Run(chain, body);

        Assert.True(ok);
        Assert.Equal("food-review", Headers(request)["X-Gateway-Model-Name"]);
        Assert.Equal("llama", Headers(request)["X-Gateway-Base-Model-Name"]);
        Assert.True(request.Rewriter.HasChanges);
        var output = new byte[request.Rewriter.OutputLength];
        request.Rewriter.CopyTo(output);
        Assert.Equal(body.Replace("\"sql\"", "\"food-review\"", StringComparison.Ordinal), Encoding.UTF8.GetString(output));
        Assert.Equal(1, metrics.Success);
    }

    [Theory]
    [InlineData("\" food-review \"", "llama")]
    [InlineData("\" llama\"", "llama")]
    [InlineData("\"mistral\"", "")]
    public void BaseModel_ModelTrimmedBeforeTheLookup_UnknownGetsEmpty(string model, string expected)
    {
        using var mappings = new BaseModelMappingSource(BaseModelMappings.FromGroups([("llama", ["food-review"])]));
        var chain = new BbrChain([new BaseModelToHeaderProcessor("b", mappings)], []);

        var (request, _) = Run(chain, $"{{\"model\":{model}}}");

        Assert.Equal(expected, Headers(request)["X-Gateway-Base-Model-Name"]);
    }

    [Fact]
    public void NoSelector_BodyUnchangedAndMissingFieldCounted()
    {
        using var metrics = new BbrMetrics();
        var chain = new BbrChain([new BodyFieldToHeaderProcessor("m", metrics: metrics)], []);

        var (request, ok) = Run(chain, "{\"prompt\":\"hi\"}");

        Assert.True(ok);
        Assert.False(request.Rewriter.HasChanges);
        Assert.Empty(Headers(request));
        Assert.Equal(1, metrics.FieldNotFound);
    }

    [Fact]
    public void NonStringModel_RejectedWith400AndReason()
    {
        var chain = new BbrChain([new BodyFieldToHeaderProcessor("m")], []);

        var (request, ok) = Run(chain, "{\"model\":[1]}");

        Assert.False(ok);
        Assert.Equal(400, request.RejectStatus);
        Assert.Equal("model must be a string", request.RejectReason);
    }

    [Fact]
    public void ResponseUsage_FromFinalJson_ReadsOpenAiAndCachedTokens()
    {
        var response = new BbrResponse
        {
            FinalJson = new ReadOnlySequence<byte>("{\"id\":\"x\",\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7,\"prompt_tokens_details\":{\"cached_tokens\":4}}}"u8.ToArray()),
        };

        Assert.True(response.TryReadUsage(out var usage));
        Assert.Equal(new TokenUsage(12, 7, 4, HasPromptTokensDetails: true), usage);
        _ = JsonDocument.Parse(response.FinalJson);
    }
}
