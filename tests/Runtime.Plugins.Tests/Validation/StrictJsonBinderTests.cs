using System.Text.Json;
using System.Text.Json.Serialization;
using Runtime.Plugins.Validation;
using Runtime.Plugins.Values;

namespace Runtime.Plugins.Tests.Validation;

public sealed record Shape(IReadOnlyList<Item>? Items = null)
{
    [JsonPropertyName("name")]
    public string? Name { get; init; }

    [JsonPropertyName("count")]
    public int Count { get; init; }

    [JsonPropertyName("size")]
    public Quantity? Size { get; init; }

    [JsonPropertyName("ttl")]
    public Duration? Ttl { get; init; }

    [JsonPropertyName("items")]
    public IReadOnlyList<Item> Items { get; init; } = Items ?? [];

    [JsonIgnore]
    public string Computed => Name + "!";
}

public sealed record Item
{
    [JsonPropertyName("id")]
    public string? Id { get; init; }
}

[JsonSerializable(typeof(Shape))]
internal sealed partial class ShapeJsonContext : JsonSerializerContext;

public class StrictJsonBinderTests
{
    private static (Shape? Value, string[] Errors) Bind(string json)
    {
        var errors = new ValidationErrors();
        StrictJsonBinder.Default.TryBind(JsonDocument.Parse(json).RootElement, ShapeJsonContext.Default.Shape, "root", errors, out var value);
        return (value, errors.Errors.Select(e => e.ToString()).ToArray());
    }

    [Fact]
    public void TryBind_ValidDocument_BindsEveryField()
    {
        var (value, errors) = Bind("""{"name":"a","count":3,"size":"2Ki","ttl":"1m30s","items":[{"id":"x"}]}""");

        Assert.Empty(errors);
        Assert.Equal("a", value!.Name);
        Assert.Equal(3, value.Count);
        Assert.Equal(2048, value.Size!.Value.Value);
        Assert.Equal(TimeSpan.FromSeconds(90), value.Ttl!.Value.Value);
        Assert.Equal("x", Assert.Single(value.Items).Id);
    }

    [Fact]
    public void TryBind_EveryKindOfMistake_AllReportedAndRestStillBound()
    {
        var (value, errors) = Bind("""{"name":"a","count":"three","size":"2KB","ttl":30,"items":[{"id":"x"},"oops",{"idd":"y"}],"computed":"z","extra":1}""");

        Assert.Equal(
        [
            "root.count: expected a whole number, got \"three\"",
            "root.size: invalid quantity \"2KB\": " + Quantity.Expected,
            "root.ttl: " + Duration.Expected + ", got a number",
            "root.items[1]: expected a map, got \"oops\"",
            "root.items[2].idd: unknown field \"idd\"; did you mean \"id\"? (known fields: id)",
            "root.computed: unknown field \"computed\" (known fields: name, count, size, ttl, items)",
            "root.extra: unknown field \"extra\" (known fields: name, count, size, ttl, items)",
        ], errors);

        // Good values survive and list positions are kept, so later checks still point at the right entry.
        Assert.Equal("a", value!.Name);
        Assert.Equal(3, value.Items.Count);
        Assert.Null(value.Items[1].Id);
    }

    [Fact]
    public void TryBind_RootOfWrongShape_NothingBound()
    {
        var (value, errors) = Bind("[1,2]");

        Assert.Null(value);
        Assert.Equal(["root: expected a map, got a list"], errors);
    }

    [Fact]
    public void TryBind_NullField_LeftAtDefault()
    {
        var (value, errors) = Bind("""{"name":null,"items":null}""");

        Assert.Empty(errors);
        Assert.Null(value!.Name);
        Assert.Empty(value.Items);
    }

    [Fact]
    public void ReportInvalid_LaterReportsUnderThatPath_Suppressed()
    {
        var errors = new ValidationErrors();
        errors.ReportInvalid("plugins[2]", "expected a map");

        errors.Report("plugins[2].type", "is required");
        errors.Report("plugins[20].type", "is required");

        Assert.Equal(["plugins[2]: expected a map", "plugins[20].type: is required"], errors.Errors.Select(e => e.ToString()));
    }
}
