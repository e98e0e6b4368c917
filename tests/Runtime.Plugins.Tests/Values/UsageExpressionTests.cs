using Runtime.Plugins.Values;

namespace Runtime.Plugins.Tests.Values;

public class UsageExpressionTests
{
    private static readonly Dictionary<string, object?> s_usage = new(StringComparer.Ordinal)
    {
        ["prompt_tokens"] = 11.0,
        ["completion_tokens"] = 31.0,
        ["total_tokens"] = 42.0,
        ["prompt_token_details"] = new Dictionary<string, object?>(StringComparer.Ordinal) { ["cached_tokens"] = 8.0 },
    };

    private static object? Eval(string text)
    {
        Assert.True(UsageExpression.TryParse(text, out var expression, out var error), error);
        Assert.True(expression!.TryEvaluate(s_usage, out var value, out var problem), problem);
        return value;
    }

    [Theory]
    [InlineData("usage.completion_tokens\n", 31.0)]
    [InlineData("usage.prompt_tokens + usage.completion_tokens", 42.0)]
    [InlineData("usage.total_tokens - usage.prompt_token_details.cached_tokens * 2", 26.0)]
    [InlineData("(usage.prompt_tokens + 1) / 4", 3.0)]
    [InlineData("int(usage.completion_tokens / 2)", 15.0)]
    [InlineData("usage.prompt_tokens > 10 ? 1 : 0", 1.0)]
    [InlineData("-usage.prompt_tokens", -11.0)]
    public void Evaluate_Arithmetic(string text, double expected) => Assert.Equal(expected, Eval(text));

    [Theory]
    [InlineData("has(usage.completion_tokens)", true)]
    [InlineData("has(usage.prompt_tokens) && has(usage.completion_tokens)", true)]
    [InlineData("has(usage.reasoning_tokens)", false)]
    [InlineData("has(usage.prompt_token_details.cached_tokens) || false", true)]
    [InlineData("!(usage.total_tokens == 42.0)", false)]
    [InlineData("usage.prompt_tokens <= 11 && usage.prompt_tokens != 12", true)]
    public void Evaluate_Conditions(string text, bool expected) => Assert.Equal(expected, Eval(text));

    [Fact]
    public void Evaluate_MissingKey_RuntimeErrorNotException()
    {
        Assert.True(UsageExpression.TryParse("usage.reasoning_tokens + 1", out var expression, out _));

        Assert.False(expression!.TryEvaluate(s_usage, out _, out var error));
        Assert.Equal("no such key: reasoning_tokens", error);
    }

    [Theory]
    [InlineData("request.size", "undeclared reference to \"request\" (the only variable is usage) at column 1")]
    [InlineData("usage.prompt_tokens +", "unexpected end of expression at column 22")]
    [InlineData("has(1)", "has() takes a field selection such as usage.prompt_tokens at column 1")]
    [InlineData("usage.prompt_tokens )", "unexpected \")\" at column 21")]
    public void Parse_OutsideTheSubset_ErrorWithColumn(string text, string expected)
    {
        Assert.False(UsageExpression.TryParse(text, out _, out var error));
        Assert.Equal(expected, error);
    }
}
