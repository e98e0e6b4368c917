using Runtime.ReplicaState;

namespace Runtime.ReplicaState.Tests;

public sealed class ReplicaStateOptionsTests
{
    [Fact]
    public void Parse_HostPortDatabase()
    {
        var errors = new List<string>();
        var options = ReplicaStateOptions.TryParse("redis://redis.infra:6380/3", errors);
        Assert.Empty(errors);
        Assert.NotNull(options);
        Assert.Equal(("redis.infra", 6380, 3, false), (options.Host, options.Port, options.Database, options.Tls));
    }

    [Fact]
    public void Parse_Rediss_IsTls_DefaultPortAndDatabase()
    {
        var options = ReplicaStateOptions.TryParse("rediss://user1@cache.example", []);
        Assert.NotNull(options);
        Assert.Equal((6379, 0, true, "user1"), (options.Port, options.Database, options.Tls, options.User));
    }

    [Theory]
    [InlineData("redis://:secret@host:6379", "do not put the password in the URL")]
    [InlineData("redis://u:secret@host:6379", "do not put the password in the URL")]
    [InlineData("http://host:6379", "is not a redis://HOST:PORT[/DB]")]
    [InlineData("host:6379", "is not a redis://HOST:PORT[/DB]")]
    [InlineData("redis://host:6379/zero", "must be a database number")]
    [InlineData("redis://host:6379/0?ssl=true", "query or fragment")]
    public void Parse_BadUrl_SaysWhy(string url, string expected)
    {
        var errors = new List<string>();
        Assert.Null(ReplicaStateOptions.TryParse(url, errors));
        var error = Assert.Single(errors);
        Assert.StartsWith("--replica-state: ", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Password_FromFile_TrailingNewlineDropped()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "s3cret\n");
            Assert.True(ReplicaStateOptions.TryReadPassword(file, [], out var password));
            Assert.Equal("s3cret", password);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Password_MissingOrEmptyFile_IsAnError()
    {
        var errors = new List<string>();
        Assert.False(ReplicaStateOptions.TryReadPassword("/nonexistent/redis-password", errors, out _));
        Assert.Contains("--replica-state-password-file: cannot read \"/nonexistent/redis-password\"", Assert.Single(errors), StringComparison.Ordinal);

        var empty = Path.GetTempFileName();
        try
        {
            errors.Clear();
            Assert.False(ReplicaStateOptions.TryReadPassword(empty, errors, out _));
            Assert.Contains("is empty", Assert.Single(errors), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(empty);
        }
    }

    [Fact]
    public void Update_RoundTrips_AndTruncatedIsRefused()
    {
        var update = new ReplicaUpdate { Load = [new("pod-a", 3, 1200), new("pod-b", 1, 10)] };
        update.Prefixes.Add(new PrefixBlocks("prefix-cache-scorer", "pod-a", 31_250, [1UL, ulong.MaxValue, 42UL]));
        var payload = update.Encode();

        var decoded = ReplicaUpdate.Decode(payload);
        Assert.Equal(update.Load, decoded.Load);
        var blocks = Assert.Single(decoded.Prefixes);
        Assert.Equal(("prefix-cache-scorer", "pod-a", 31_250), (blocks.Index, blocks.Endpoint, blocks.Capacity));
        Assert.Equal([1UL, ulong.MaxValue, 42UL], blocks.Hashes);

        Assert.Throws<FormatException>(() => ReplicaUpdate.Decode(payload[..^3]));
        Assert.Throws<FormatException>(() => ReplicaUpdate.Decode([9, 0, 0]));
    }
}
