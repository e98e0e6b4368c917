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

        Assert.Equal(s_listing.Plugins.Count, plugins.Length);
        var edf = plugins.Single(p => p.GetProperty("type").GetString() == "edf-ordering-policy");
        Assert.Equal(["ordering-policy"], edf.GetProperty("kinds").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("Beta", edf.GetProperty("stability").GetString());
        Assert.Equal(JsonValueKind.Null, edf.GetProperty("featureGate").ValueKind);
        Assert.True(edf.GetProperty("enabledByDefault").GetBoolean());

        // The bare catalog has no implementations: nothing claims to be usable.
        Assert.False(edf.GetProperty("implemented").GetBoolean());
        Assert.Equal("no implementation in this build", edf.GetProperty("unavailable").GetString());
        Assert.Equal(JsonValueKind.Null, edf.GetProperty("deprecation").ValueKind);

        var latency = plugins.Single(p => p.GetProperty("type").GetString() == "latency-scorer");
        Assert.Contains("latency-predictor", latency.GetProperty("unavailable").GetString(), StringComparison.Ordinal);

        var alias = plugins.Single(p => p.GetProperty("type").GetString() == "kv-cache-scorer");
        Assert.Equal("Deprecated", alias.GetProperty("stability").GetString());
        Assert.Equal(["kv-cache-utilization-scorer"], alias.GetProperty("deprecation").GetProperty("replacements").EnumerateArray().Select(e => e.GetString()));

        var prefix = plugins.Single(p => p.GetProperty("type").GetString() == "prefix-cache-scorer");
        Assert.Contains("blockSizeTokens", prefix.GetProperty("parameters").EnumerateArray().Select(e => e.GetString()));

        var gates = document.RootElement.GetProperty("featureGates").EnumerateArray().ToArray();
        Assert.Equal(["flowControl", "dataLayer", "enableLegacyMetrics", "haPopulateNonLeaderDatastore"], gates.Select(g => g.GetProperty("name").GetString()));
        Assert.Equal(5, document.RootElement.GetProperty("tombstones").GetArrayLength());
        Assert.Equal(0, document.RootElement.GetProperty("registrationErrors").GetArrayLength());
    }

    [Fact]
    public void Table_Listing_OneRowPerTypeAndSections()
    {
        var table = PluginTable.Format(s_listing);
        var lines = table.Split('\n');

        Assert.StartsWith("TYPE", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("edf-ordering-policy ", StringComparison.Ordinal) && l.Contains("Beta", StringComparison.Ordinal));
        Assert.Contains("Deprecated plugin types (still load, with a warning):", table, StringComparison.Ordinal);
        Assert.Contains("Removed plugin types:", table, StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("decision-tree-filter ", StringComparison.Ordinal) && l.Contains("queue-scorer, kv-cache-utilization-scorer, lora-affinity-scorer", StringComparison.Ordinal));
        Assert.Contains($"{s_listing.Plugins.Count} of {s_listing.Plugins.Count} types are known but not available in this build", table, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.EndsWith(' '));
    }
}
