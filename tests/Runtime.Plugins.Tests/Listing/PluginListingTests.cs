using System.Text.Json;
using Runtime.Plugins.BuiltIn;
using Runtime.Plugins.Listing;

namespace Runtime.Plugins.Tests.Listing;

public class PluginListingTests
{
    private static readonly PluginListing s_listing = PluginListing.From(BuiltInPlugins.CreateBuilder().Build());

    [Fact]
    public void Json_Listing_MachineReadableFieldsForEveryType()
    {
        var json = JsonSerializer.Serialize(s_listing, PluginListingJsonContext.Default.PluginListing);
        using var document = JsonDocument.Parse(json);
        var plugins = document.RootElement.GetProperty("plugins").EnumerateArray().ToArray();

        Assert.Equal(23, plugins.Length);
        var edf = plugins.Single(p => p.GetProperty("type").GetString() == "edf-ordering-policy");
        Assert.Equal(["ordering-policy"], edf.GetProperty("kinds").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("Alpha", edf.GetProperty("stability").GetString());
        Assert.Equal("flowControl", edf.GetProperty("featureGate").GetString());
        Assert.False(edf.GetProperty("enabledByDefault").GetBoolean());
        Assert.False(edf.GetProperty("implemented").GetBoolean());
        Assert.Equal(JsonValueKind.Null, edf.GetProperty("deprecation").ValueKind);

        var alias = plugins.Single(p => p.GetProperty("type").GetString() == "kv-cache-scorer");
        Assert.Equal("Deprecated", alias.GetProperty("stability").GetString());
        Assert.Equal(["kv-cache-utilization-scorer"], alias.GetProperty("deprecation").GetProperty("replacements").EnumerateArray().Select(e => e.GetString()));

        var prefix = plugins.Single(p => p.GetProperty("type").GetString() == "prefix-cache-scorer");
        Assert.Contains("blockSizeTokens", prefix.GetProperty("parameters").EnumerateArray().Select(e => e.GetString()));

        var gates = document.RootElement.GetProperty("featureGates").EnumerateArray().ToArray();
        Assert.Equal(["flowControl", "dataLayer", "pdDisaggregation"], gates.Select(g => g.GetProperty("name").GetString()));
        Assert.Equal(5, document.RootElement.GetProperty("tombstones").GetArrayLength());
        Assert.Equal(0, document.RootElement.GetProperty("registrationErrors").GetArrayLength());
    }

    [Fact]
    public void Table_Listing_OneRowPerTypeAndSections()
    {
        var table = PluginTable.Format(s_listing);
        var lines = table.Split('\n');

        Assert.StartsWith("TYPE", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("edf-ordering-policy ", StringComparison.Ordinal) && l.Contains("Alpha", StringComparison.Ordinal) && l.Contains("flowControl", StringComparison.Ordinal));
        Assert.Contains("Deprecated plugin types (still load, with a warning):", table, StringComparison.Ordinal);
        Assert.Contains("Removed plugin types:", table, StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("decision-tree-filter ", StringComparison.Ordinal) && l.Contains("queue-scorer, kv-cache-utilization-scorer, lora-affinity-scorer", StringComparison.Ordinal));
        Assert.Contains("23 of 23 types are not implemented in this build yet", table, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.EndsWith(' '));
    }
}
