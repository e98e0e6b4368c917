using System.Text.Json;
using Runtime.Configuration.Yaml;
using Runtime.Plugins.Validation;

namespace Runtime.Configuration.Tests.Yaml;

public class YamlToJsonTests
{
    private static (string Json, SourceMap Positions) Convert(string yaml)
    {
        var errors = new ValidationErrors();
        using var document = YamlToJson.Convert(yaml, errors, out _);
        Assert.False(errors.HasErrors, string.Join("; ", errors.Errors));
        return (JsonSerializer.Serialize(document!.Json.RootElement), document.Positions);
    }

    [Fact]
    public void Convert_PlainScalars_TypedByYamlCoreSchema()
    {
        var (json, _) = Convert("""
            int: 42
            negative: -7
            float: 0.8
            exponent: 1e9
            leadingDot: .5
            yes: true
            no: False
            nothing: ~
            empty:
            word: queue-scorer
            quantity: 5k
            duration: 30s
            """);

        Assert.Equal(
            """{"int":42,"negative":-7,"float":0.8,"exponent":1e9,"leadingDot":0.5,"yes":true,"no":false,"nothing":null,"empty":null,"word":"queue-scorer","quantity":"5k","duration":"30s"}""",
            json);
    }

    [Fact]
    public void Convert_QuotedOrTaggedScalars_StayStrings()
    {
        var (json, _) = Convert("""
            a: "42"
            b: 'true'
            c: !!str 0.5
            d: "null"
            """);

        Assert.Equal("""{"a":"42","b":"true","c":"0.5","d":"null"}""", json);
    }

    [Fact]
    public void Convert_AnchorsAndAliases_Resolved()
    {
        var (json, _) = Convert("""
            base: &weights {weight: 2}
            copy: *weights
            """);

        Assert.Equal("""{"base":{"weight":2},"copy":{"weight":2}}""", json);
    }

    [Fact]
    public void Convert_Positions_KeysAndItemsRecordedWithLines()
    {
        var (_, positions) = Convert("""
            plugins:
            - type: queue-scorer
              parameters:
                threshold: 1
            """);

        Assert.Equal(new SourcePosition(1, 1), positions.Find("plugins"));
        Assert.Equal(new SourcePosition(2, 3), positions.Find("plugins[0]"));
        Assert.Equal(new SourcePosition(4, 5), positions.Find("plugins[0].parameters.threshold"));

        // A path that is not in the text falls back to its nearest ancestor.
        Assert.Equal(new SourcePosition(3, 3), positions.Find("plugins[0].parameters.missing"));
    }

    [Fact]
    public void Convert_TwoDocuments_ErrorAtTheSecond()
    {
        var errors = new ValidationErrors();

        var document = YamlToJson.Convert("a: 1\n---\nb: 2\n", errors, out var position);

        Assert.Null(document);
        Assert.Equal("expected one YAML document, found 2 (separated by ---)", Assert.Single(errors.Errors).Message);
        Assert.Equal(3, position!.Value.Line);
    }

    [Fact]
    public void Convert_LeadingDocumentMarker_IsOneDocument()
    {
        var (json, _) = Convert("---\na: 1\n");

        Assert.Equal("""{"a":1}""", json);
    }

    [Fact]
    public void ConvertStream_SeveralDocuments_ConvertsEachWithItsStartLine()
    {
        var errors = new ValidationErrors();
        var documents = YamlToJson.ConvertStream("""
            a: 1
            ---
            # comment
            b: [x, y]
            ---
            ---
            c:
              d: "5"
            """, errors, out var position);

        Assert.False(errors.HasErrors);
        Assert.Null(position);
        Assert.NotNull(documents);
        Assert.Equal([1, 4, 7], documents.Select(d => d.Start.Line));
        Assert.Equal(["""{"a":1}""", """{"b":["x","y"]}""", """{"c":{"d":"5"}}"""], documents.Select(d => JsonSerializer.Serialize(d.Json!.RootElement)));
        Assert.Equal(8, documents[2].Positions.Find("c.d")!.Value.Line);
        foreach (var document in documents)
        {
            document.Dispose();
        }
    }

    [Fact]
    public void ConvertStream_ComplexKeyInOneDocument_FailsOnlyThatDocument()
    {
        var errors = new ValidationErrors();
        var documents = YamlToJson.ConvertStream("a: 1\n---\nb: 1\n? [x]\n: 2\n", errors, out _);

        Assert.False(errors.HasErrors);
        Assert.NotNull(documents![0].Json);
        Assert.Null(documents[1].Json);
        var error = Assert.Single(documents[1].Errors.Errors);
        Assert.Equal(3, documents[1].Positions.Find(error.Path)!.Value.Line);
    }

    [Fact]
    public void ConvertStream_SyntaxError_ReportsItsLine()
    {
        var errors = new ValidationErrors();
        var documents = YamlToJson.ConvertStream("a: 1\n---\nb: [1, 2\n", errors, out var position);

        Assert.Null(documents);
        Assert.Contains("YAML syntax error", Assert.Single(errors.Errors).Message, StringComparison.Ordinal);
        Assert.Equal(4, position!.Value.Line);
    }

    [Fact]
    public void ConvertStream_EmptyText_HasNoDocuments()
    {
        var errors = new ValidationErrors();

        Assert.Empty(YamlToJson.ConvertStream("# nothing\n---\n", errors, out _)!);
        Assert.False(errors.HasErrors);
    }
}
