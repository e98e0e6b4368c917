using System.Text;
using Runtime.ModelMetrics.Mapping;
using Runtime.ModelMetrics.Prometheus;

namespace Runtime.ModelMetrics.Tests.Mapping;

public class MetricSpecTests
{
    [Theory]
    [InlineData("vllm:num_requests_waiting", "vllm:num_requests_waiting", "")]
    [InlineData("  vllm:num_requests_waiting  ", "vllm:num_requests_waiting", "")]
    [InlineData("nv_trt_llm_request_metrics{request_type=waiting}", "nv_trt_llm_request_metrics", "request_type=waiting")]
    [InlineData("nv_trt_llm_request_metrics{request_type=\"waiting\"}", "nv_trt_llm_request_metrics", "request_type=waiting")]
    [InlineData("m{a=\"1\", b=2,}", "m", "a=1;b=2")]
    [InlineData("m {}", "m", "")]
    public void TryParse_ValidSpecs_Parse(string text, string name, string labels)
    {
        Assert.True(MetricSpec.TryParse(text, out var spec, out var error), error);
        Assert.NotNull(spec);
        Assert.Equal(name, spec.Name);
        Assert.Equal(labels, string.Join(";", spec.Labels.Select(l => $"{l.Key}={l.Value}")));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void TryParse_Empty_IsDisabledSpec(string? text)
    {
        Assert.True(MetricSpec.TryParse(text, out var spec, out _));
        Assert.Null(spec);
    }

    [Theory]
    [InlineData("1metric")]
    [InlineData("m{a}")]
    [InlineData("m{a=}")]
    [InlineData("m{a=\"b}")]
    [InlineData("m{a=\"1\",,b=\"2\"}")]
    [InlineData("m{__name__=\"x\"}")]
    [InlineData("m extra")]
    [InlineData("m{a=\"1\"")]
    [InlineData("{a=\"1\"}")]
    public void TryParse_Invalid_ReportsError(string text)
    {
        Assert.False(MetricSpec.TryParse(text, out _, out var error));
        Assert.Contains(text.Trim(), error, StringComparison.Ordinal);
    }

    [Fact]
    public void Matches_RequiresNameAndEveryLabel()
    {
        var spec = MetricSpec.Parse("m{a=\"x\",b=\"y\"}");
        Assert.True(Match(spec, "m{b=\"y\",c=\"z\",a=\"x\"} 1"));
        Assert.False(Match(spec, "m{a=\"x\"} 1"));
        Assert.False(Match(spec, "m{a=\"x\",b=\"yy\"} 1"));
        Assert.False(Match(spec, "mm{a=\"x\",b=\"y\"} 1"));
        Assert.True(Match(MetricSpec.Parse("m"), "m{a=\"x\"} 1"));
    }

    private static bool Match(MetricSpec spec, string line)
    {
        var reader = new PrometheusTextReader(Encoding.UTF8.GetBytes(line));
        Assert.True(reader.TryRead(out var sample));
        return spec.Matches(sample);
    }
}
