using System.Buffers;
using System.Text;
using Runtime.EndpointPicker.Responses;

namespace Runtime.EndpointPicker.Tests;

public sealed class ModelRestorerTests
{
    private static ReadOnlySequence<byte> Bytes(string text) => new(Encoding.UTF8.GetBytes(text));

    private static string Text(in ReadOnlySequence<byte> bytes) => Encoding.UTF8.GetString(bytes);

    [Fact]
    public void Json_OnlyTheModelValueChanges()
    {
        using var restorer = new ModelRestorer();
        restorer.Begin("my-alias", "served-model");

        var output = restorer.RestoreJson(Bytes("""{"id":"x", "model" : "served-model","choices":[{"text":"model"}]}"""));

        Assert.Equal("""{"id":"x", "model" : "my-alias","choices":[{"text":"model"}]}""", Text(output));
    }

    [Fact]
    public void Json_OtherModelOrInvalidJson_Unchanged()
    {
        using var restorer = new ModelRestorer();
        restorer.Begin("alias", "served");

        Assert.Equal("""{"model":"other"}""", Text(restorer.RestoreJson(Bytes("""{"model":"other"}"""))));
        Assert.Equal("not json", Text(restorer.RestoreJson(Bytes("not json"))));
    }

    [Fact]
    public void Events_RewrittenAsSoonAsComplete_PartialEventHeldUntilItsEnd()
    {
        using var restorer = new ModelRestorer();
        restorer.Begin("alias", "served");

        var first = restorer.RestoreEvents(Bytes("data: {\"model\":\"served\",\"n\":1}\n\ndata: {\"mod"), endOfStream: false);
        Assert.Equal("data: {\"model\":\"alias\",\"n\":1}\n\n", Text(first));

        var second = restorer.RestoreEvents(Bytes("el\":\"served\",\"n\":2}\n\ndata: [DONE]\n\n"), endOfStream: true);
        Assert.Equal("data: {\"model\":\"alias\",\"n\":2}\n\ndata: [DONE]\n\n", Text(second));
    }

    [Fact]
    public void Events_UnterminatedTailFlushedAtEnd()
    {
        using var restorer = new ModelRestorer();
        restorer.Begin("alias", "served");

        Assert.Equal(string.Empty, Text(restorer.RestoreEvents(Bytes("data: {\"model\":\"served\"}"), endOfStream: false)));
        Assert.Equal("data: {\"model\":\"alias\"}", Text(restorer.RestoreEvents(ReadOnlySequence<byte>.Empty, endOfStream: true)));
    }

    [Fact]
    public void Events_ArbitrarySplits_SameOutputAsWhole()
    {
        var stream = string.Concat(Enumerable.Range(0, 20).Select(i => $"event: chunk\ndata: {{\"model\":\"served\",\"i\":{i},\"text\":\"tok\\n\"}}\n\n")) + "data: [DONE]\n\n";
        var expected = stream.Replace("\"served\"", "\"alias\"", StringComparison.Ordinal);
        var bytes = Encoding.UTF8.GetBytes(stream);
        var random = new Random(7);
        for (var round = 0; round < 50; round++)
        {
            using var restorer = new ModelRestorer();
            restorer.Begin("alias", "served");
            var output = new StringBuilder();
            var offset = 0;
            while (offset < bytes.Length)
            {
                var take = Math.Min(bytes.Length - offset, random.Next(1, 40));
                var end = offset + take == bytes.Length;
                output.Append(Text(restorer.RestoreEvents(new ReadOnlySequence<byte>(bytes, offset, take), end)));
                offset += take;
            }

            Assert.Equal(expected, output.ToString());
        }
    }
}
