using System.Text;
using Runtime.EndpointPicker.Requests;

namespace Runtime.EndpointPicker.Tests;

public sealed class RequestRulesTests
{
    [Fact]
    public void Objectives_ParseAndLookUpByHeaderBytes()
    {
        Assert.True(ObjectivePriorities.TryParse(["premium=10", "batch=-1 # sheddable", " "], out var map, out var errors), string.Join("; ", errors));
        var objectives = new ObjectivePriorities();
        objectives.Publish(map);

        Assert.Equal(10, objectives.GetPriority("premium"u8));
        Assert.Equal(-1, objectives.GetPriority("batch"u8));
        Assert.Equal(0, objectives.GetPriority("unknown"u8));
        Assert.Equal(0, objectives.GetPriority(default));
    }

    [Theory]
    [InlineData("premium")]
    [InlineData("=3")]
    [InlineData("premium=high")]
    public void Objectives_BadEntries_Reported(string entry)
    {
        Assert.False(ObjectivePriorities.TryParse([entry], out _, out var errors));
        Assert.Contains(entry.Trim(), errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Rewrites_WeightedTargetsFollowWeights()
    {
        Assert.True(ModelRewriteRules.TryParse(["chat=base:90,canary:10", "solo=other"], out var map, out var errors), string.Join("; ", errors));
        var rules = new ModelRewriteRules();
        rules.Publish(map);

        var canary = 0;
        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(rules.TryRewrite("chat", out var target));
            canary += target == "canary" ? 1 : 0;
        }

        Assert.InRange(canary, 700, 1300);
        Assert.True(rules.TryRewrite("solo", out var solo));
        Assert.Equal("other", solo);
        Assert.False(rules.TryRewrite("unmatched", out var same));
        Assert.Equal("unmatched", same);
    }

    [Fact]
    public void Rewrites_FallbackTakesEveryModelNoExactRuleMatched()
    {
        var rules = new ModelRewriteRules();
        rules.Publish(new Dictionary<string, IReadOnlyList<ModelRewriteTarget>> { ["chat"] = [new("chat-v2", 1)] }, [new("default-model", 1)]);

        Assert.True(rules.HasFallback);
        Assert.True(rules.TryRewrite("chat", out var exact));
        Assert.Equal("chat-v2", exact);
        Assert.True(rules.TryRewrite("unknown", out var fallback));
        Assert.Equal("default-model", fallback);

        rules.Publish(new Dictionary<string, IReadOnlyList<ModelRewriteTarget>>());
        Assert.False(rules.TryRewrite("unknown", out _));
    }

    [Theory]
    [InlineData("chat")]
    [InlineData("chat=")]
    [InlineData("chat=a:0")]
    public void Rewrites_BadEntries_Reported(string entry) =>
        Assert.False(ModelRewriteRules.TryParse([entry], out _, out _));

    [Fact]
    public void StringCache_SameBytesSameString_Bounded()
    {
        var cache = new Utf8StringCache(capacity: 2);
        var a = cache.Get("tenant-a"u8);
        Assert.Same(a, cache.Get(Encoding.UTF8.GetBytes("tenant-a")));
        cache.Get("tenant-b"u8);
        var c1 = cache.Get("tenant-c"u8);
        var c2 = cache.Get("tenant-c"u8);
        Assert.Equal(c1, c2);
        Assert.NotSame(c1, c2);
    }
}
