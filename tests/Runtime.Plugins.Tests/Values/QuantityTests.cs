using Runtime.Plugins.Values;

namespace Runtime.Plugins.Tests.Values;

public class QuantityTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("1024", 1024L)]
    [InlineData("5k", 5_000L)]
    [InlineData("500M", 500_000_000L)]
    [InlineData("1G", 1_000_000_000L)]
    [InlineData("1Ki", 1024L)]
    [InlineData("1Mi", 1_048_576L)]
    [InlineData("1Gi", 1_073_741_824L)]
    [InlineData("1.5Gi", 1_610_612_736L)]
    [InlineData("1Ti", 1_099_511_627_776L)]
    [InlineData("1e3", 1_000L)]
    [InlineData("2E6", 2_000_000L)]
    [InlineData("1E", 1_000_000_000_000_000_000L)]
    [InlineData("100m", 1L)]
    [InlineData("1.2", 2L)]
    [InlineData(".5k", 500L)]
    [InlineData("-1", -1L)]
    public void TryParse_KubernetesForms_WholeValueRoundedUp(string text, long expected)
    {
        Assert.True(Quantity.TryParse(text, out var quantity, out var error), error);
        Assert.Equal(expected, quantity.Value);
        Assert.Equal(text, quantity.Text);
    }

    [Theory]
    [InlineData("1GB")]
    [InlineData("1gi")]
    [InlineData("lots")]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("1.2.3")]
    [InlineData("1 Gi")]
    [InlineData("Gi")]
    public void TryParse_Malformed_ErrorNamesTheText(string text)
    {
        Assert.False(Quantity.TryParse(text, out _, out var error));
        Assert.Equal($"invalid quantity \"{text}\": {Quantity.Expected}", error);
    }

    [Fact]
    public void TryParse_BeyondLong_TooLarge()
    {
        Assert.False(Quantity.TryParse("16Ei", out _, out var error));
        Assert.Equal("quantity \"16Ei\" is too large", error);
    }
}
