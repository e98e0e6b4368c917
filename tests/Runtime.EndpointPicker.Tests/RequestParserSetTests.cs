using System.Buffers;
using System.Text;
using Runtime.EndpointPicker.Plugins;
using Runtime.EndpointPicker.Requests;

namespace Runtime.EndpointPicker.Tests;

public class RequestParserSetTests
{
    private static ReadOnlySpan<byte> P(string path) => Encoding.ASCII.GetBytes(path);

    private static RequestParserSet LlmDDefaults() =>
        RequestParserSet.Build([RequestParsing.OpenAI, RequestParsing.Anthropic, RequestParsing.VllmHttp, RequestParsing.Passthrough], out _);

    [Theory]
    [InlineData("/v1/chat/completions", "OpenAI")]
    [InlineData("/v1/completions?x=1", "OpenAI")]
    [InlineData("/v1/messages", "Anthropic")]
    [InlineData("/v1/messages/count_tokens", "Anthropic")]
    [InlineData("/inference/v1/generate/", "VllmHttp")]
    [InlineData("/v1/rerank", "Passthrough")]
    public void Resolve_LlmDDefaultList_ChoosesByPathSuffix(string path, string expected)
    {
        Assert.True(LlmDDefaults().TryResolve(P(path), out var parsing));
        Assert.Equal(expected, parsing.ToString());
    }

    [Fact]
    public void Resolve_NoFallback_UnclaimedPathHasNoParser()
    {
        var set = RequestParserSet.Build([RequestParsing.OpenAI, RequestParsing.Anthropic], out _);

        Assert.False(set.TryResolve(P("/v1/rerank"), out _));
        Assert.True(set.TryResolve(P("/v1/messages"), out var parsing));
        Assert.Equal(RequestParsing.Anthropic, parsing);
    }

    [Fact]
    public void Build_FallbackEndsTheListAndDuplicatesAreSkipped()
    {
        var set = RequestParserSet.Build([RequestParsing.OpenAI, RequestParsing.OpenAI, RequestParsing.Passthrough, RequestParsing.Anthropic], out var skipped);

        Assert.Equal([RequestParsing.OpenAI, RequestParsing.Passthrough], set.Active);
        Assert.Equal([RequestParsing.OpenAI, RequestParsing.Anthropic], skipped);
        // Anthropic came after the fallback: its path goes to passthrough.
        Assert.True(set.TryResolve(P("/v1/messages"), out var parsing));
        Assert.Equal(RequestParsing.Passthrough, parsing);
    }

    [Fact]
    public void Single_GieParserReadsEveryPath()
    {
        var set = RequestParserSet.Single(RequestParsing.OpenAI);

        Assert.True(set.TryResolve(P("/v1/messages"), out var parsing));
        Assert.Equal(RequestParsing.OpenAI, parsing);
    }
}

public class AnthropicRequestParserTests
{
    private static ReadOnlySequence<byte> Body(string json) => new(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void TryParse_SystemAndMessages_PromptJoinsBothInOrder()
    {
        var parser = new AnthropicRequestParser();
        Assert.True(parser.TryParse(Body("""{"model":"claude","max_tokens":64,"system":"be brief","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"stream":true}"""), out var error), error);

        Assert.True(parser.HasModel);
        Assert.True(parser.IsStreaming);
        Assert.Equal("""
            "be brief"[{"role":"user","content":[{"type":"text","text":"hi"}]}]
            """, Encoding.UTF8.GetString(parser.PromptBytes().ToArray()));
    }

    [Fact]
    public void TryParse_NoSystem_PromptIsTheMessages_ModelOptional()
    {
        var parser = new AnthropicRequestParser();
        Assert.True(parser.TryParse(Body("""{"messages":[{"role":"user","content":"hello"}]}"""), out var error), error);

        Assert.False(parser.HasModel);
        Assert.False(parser.IsStreaming);
        Assert.Equal("""[{"role":"user","content":"hello"}]""", Encoding.UTF8.GetString(parser.PromptBytes().ToArray()));
    }

    [Theory]
    [InlineData("""{"model":"claude","messages":[]}""", "invalid messages request: must have at least one message")]
    [InlineData("""{"model":"claude"}""", "invalid messages request: must have at least one message")]
    [InlineData("""{"model":7,"messages":[{"role":"user","content":"x"}]}""", "error parsing messages request: model must be a string")]
    [InlineData("""{"model":"claude","messages":"x"}""", "error parsing messages request: messages must be an array")]
    public void TryParse_BadBodies_LlmDsErrors(string json, string expected)
    {
        var parser = new AnthropicRequestParser();

        Assert.False(parser.TryParse(Body(json), out var error));
        Assert.Equal(expected, error);
    }

    [Theory]
    [InlineData("/v1/messages/count_tokens", true)]
    [InlineData("/v1/messages/count_tokens?beta=true", true)]
    [InlineData("/v1/messages", false)]
    public void IsCountTokens(string path, bool expected) => Assert.Equal(expected, AnthropicRequestParser.IsCountTokens(Encoding.ASCII.GetBytes(path)));

    [Fact]
    public void VllmHttp_TokenIdsRequired_AreThePrompt()
    {
        var parser = new VllmHttpRequestParser();
        Assert.True(parser.TryParse(Body("""{"token_ids":[1,2,3],"stream":true}"""), out var error), error);
        Assert.Equal("[1,2,3]", Encoding.UTF8.GetString(parser.PromptBytes().ToArray()));
        Assert.True(parser.IsStreaming);

        Assert.False(parser.TryParse(Body("""{"model":"m","token_ids":[]}"""), out error));
        Assert.Equal("invalid generate request: must have non-empty token_ids field", error);
    }
}
