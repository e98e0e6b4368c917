using Runtime.Plugins.Values;

namespace Runtime.Plugins.Tests.Values;

public class GoDurationTests
{
    [Theory]
    [InlineData("30s", 30_000L)]
    [InlineData("200ms", 200L)]
    [InlineData("1m30s", 90_000L)]
    [InlineData("1h", 3_600_000L)]
    [InlineData("1.5s", 1_500L)]
    [InlineData("-2s", -2_000L)]
    [InlineData("0", 0L)]
    [InlineData("1500us", 1L)]
    public void TryParse_GoForms(string text, long milliseconds)
    {
        Assert.True(GoDuration.TryParse(text, out var value));
        Assert.Equal(milliseconds, (long)value.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("30")]
    [InlineData("30 s")]
    [InlineData("1d")]
    [InlineData("s")]
    [InlineData("-")]
    public void TryParse_NotGo_Rejected(string text) => Assert.False(GoDuration.TryParse(text, out _));
}
