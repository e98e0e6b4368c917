using System.Buffers;
using System.Text;
using Runtime.EndpointPicker.Requests;

namespace Runtime.EndpointPicker.Tests;

public sealed class InferenceRequestParserTests
{
    private static ReadOnlySequence<byte> Body(string json) => new(Encoding.UTF8.GetBytes(json));

    [Theory]
    [InlineData("/v1/chat/completions", InferenceApi.ChatCompletions)]
    [InlineData("/v1/chat/completions?x=1", InferenceApi.ChatCompletions)]
    [InlineData("/v1/completions/", InferenceApi.Completions)]
    [InlineData("/v1/responses", InferenceApi.Responses)]
    [InlineData("/v1/conversations", InferenceApi.Conversations)]
    [InlineData("/v1/embeddings", InferenceApi.Embeddings)]
    [InlineData("/v1/models", InferenceApi.Other)]
    public void Classify_ByPathSuffix(string path, InferenceApi expected) =>
        Assert.Equal(expected, InferenceApiPaths.Classify(Encoding.ASCII.GetBytes(path)));

    [Theory]
    [InlineData(InferenceApi.ChatCompletions, """{"model":"m","messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData(InferenceApi.Completions, """{"model":"m","prompt":"hi"}""")]
    [InlineData(InferenceApi.Completions, """{"model":"m","prompt":["a","b"]}""")]
    [InlineData(InferenceApi.Completions, """{"model":"m","prompt":[1,2,3]}""")]
    [InlineData(InferenceApi.Completions, """{"model":"m","prompt":[[1,2],[3]]}""")]
    [InlineData(InferenceApi.Responses, """{"model":"m","input":"hi"}""")]
    [InlineData(InferenceApi.Conversations, """{"model":"m","items":[]}""")]
    [InlineData(InferenceApi.Embeddings, """{"model":"m","input":["a"]}""")]
    [InlineData(InferenceApi.Other, """{"model":"m"}""")]
    public void ValidBodies_Parse(InferenceApi api, string json)
    {
        var parser = new InferenceRequestParser();
        Assert.True(parser.TryParse(api, Body(json), out var error), error);
    }

    [Theory]
    [InlineData(InferenceApi.ChatCompletions, """{"messages":[{"role":"user"}]}""", "model not found in request body")]
    [InlineData(InferenceApi.ChatCompletions, """{"model":"","messages":[{"role":"user"}]}""", "model not found in request body")]
    [InlineData(InferenceApi.ChatCompletions, """{"model":7,"messages":[{"role":"user"}]}""", "model must be a string")]
    [InlineData(InferenceApi.ChatCompletions, """{"model":"m","messages":[]}""", "non-empty messages")]
    [InlineData(InferenceApi.ChatCompletions, """{"model":"m"}""", "non-empty messages")]
    [InlineData(InferenceApi.Completions, """{"model":"m","prompt":{}}""", "prompt")]
    [InlineData(InferenceApi.Completions, """{"model":"m","prompt":[]}""", "prompt")]
    [InlineData(InferenceApi.Completions, """{"model":"m","prompt":[1,"a"]}""", "prompt")]
    [InlineData(InferenceApi.Responses, """{"model":"m"}""", "input")]
    [InlineData(InferenceApi.Conversations, """{"model":"m"}""", "items")]
    [InlineData(InferenceApi.Embeddings, """{"model":"m"}""", "input")]
    [InlineData(InferenceApi.ChatCompletions, """{"model":"m","messages":[{}],"stream":"yes"}""", "stream must be a boolean")]
    [InlineData(InferenceApi.ChatCompletions, """{"model":"m","messages":[{}],"cache_salt":1}""", "cache_salt must be a string")]
    [InlineData(InferenceApi.ChatCompletions, """{"model":"m","messages":[{}]""", "")]
    [InlineData(InferenceApi.ChatCompletions, "[1,2]", "")]
    [InlineData(InferenceApi.ChatCompletions, "", "")]
    public void InvalidBodies_ClearError(InferenceApi api, string json, string expected)
    {
        var parser = new InferenceRequestParser();
        Assert.False(parser.TryParse(api, Body(json), out var error));
        Assert.NotEmpty(error);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void PromptAndSalt_AreRawSlicesOfTheBody()
    {
        var parser = new InferenceRequestParser();
        Assert.True(parser.TryParse(InferenceApi.ChatCompletions, Body("""{"model":"m","cache_salt":"s\"1","messages":[{"role":"user","content":"hi"}],"stream":true}"""), out _));

        Assert.Equal("""[{"role":"user","content":"hi"}]""", Encoding.UTF8.GetString(parser.PromptBytes(InferenceApi.ChatCompletions)));
        Assert.Equal("s\\\"1", Encoding.UTF8.GetString(parser.CacheSaltBytes()));
        Assert.True(parser.IsStreaming);
    }

    [Fact]
    public void MultiSegmentBody_ParsesLikeContiguous()
    {
        var json = Encoding.UTF8.GetBytes("""{"model":"llama","prompt":"a long prompt here"}""");
        var sequence = Runtime.TestSupport.Buffers.Segments.Split(json, 5);
        var parser = new InferenceRequestParser();

        Assert.True(parser.TryParse(InferenceApi.Completions, sequence, out var error), error);
        Assert.Equal("\"a long prompt here\"", Encoding.UTF8.GetString(parser.PromptBytes(InferenceApi.Completions)));
    }
}
