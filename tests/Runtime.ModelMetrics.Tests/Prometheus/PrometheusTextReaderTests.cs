using System.Text;
using Runtime.ModelMetrics.Prometheus;
using Runtime.TestSupport.ModelServers;

namespace Runtime.ModelMetrics.Tests.Prometheus;

public class PrometheusTextReaderTests
{
    private sealed record Sample(string Name, List<(string Name, string Value)> Labels, double Value, long? Timestamp);

    private static (List<Sample> Samples, int Malformed) ReadAll(string page) => ReadAll(Encoding.UTF8.GetBytes(page));

    private static (List<Sample> Samples, int Malformed) ReadAll(byte[] page)
    {
        var result = new List<Sample>();
        var reader = new PrometheusTextReader(page);
        while (reader.TryRead(out var s))
        {
            var labels = new List<(string, string)>();
            foreach (var label in s.Labels)
            {
                labels.Add((Encoding.UTF8.GetString(label.Name), label.GetValueString()));
            }

            result.Add(new Sample(Encoding.UTF8.GetString(s.Name), labels, s.Value, s.HasTimestamp ? s.Timestamp : null));
        }

        Assert.Equal(result.Count, reader.Samples);
        return (result, reader.MalformedLines);
    }

    [Fact]
    public void TryRead_VllmPage_ReadsEverySampleAndSkipsComments()
    {
        var (samples, malformed) = ReadAll(ModelServerPages.Vllm(series: 100));
        Assert.Equal(100, samples.Count);
        Assert.Equal(0, malformed);
        var waiting = samples.Single(s => s.Name == "vllm:num_requests_waiting");
        Assert.Equal(3, waiting.Value);
        Assert.Contains(("engine", "0"), waiting.Labels);
        var lora = samples.Single(s => s.Name == "vllm:lora_requests_info");
        Assert.Equal(1.7301e9, lora.Value);
        Assert.Contains(("running_lora_adapters", "sql-lora,chat-lora"), lora.Labels);
        Assert.Contains(samples, s => s.Name.EndsWith("_bucket", StringComparison.Ordinal) && double.IsPositiveInfinity(double.Parse(s.Labels.Single(l => l.Name == "le").Value.Replace("+Inf", "Infinity", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void TryRead_SgLangAndTritonPages_ReadWithoutErrors()
    {
        var (sglang, m1) = ReadAll(ModelServerPages.SgLang());
        var (triton, m2) = ReadAll(ModelServerPages.TritonTensorRtLlm());
        Assert.Equal(0, m1 + m2);
        Assert.Equal(7, sglang.Count);
        Assert.Equal(11, triton.Count);
        Assert.Equal(0.375, triton.Single(s => s.Labels.Contains(("kv_cache_block_type", "fraction"))).Value);
    }

    [Theory]
    [InlineData("m 1", 1.0)]
    [InlineData("m 0", 0.0)]
    [InlineData("m -3", -3.0)]
    [InlineData("m 1.5", 1.5)]
    [InlineData("m 1e3", 1000.0)]
    [InlineData("m 1.7301e+09", 1.7301e9)]
    [InlineData("m 2.5E-3", 0.0025)]
    [InlineData("m +Inf", double.PositiveInfinity)]
    [InlineData("m -Inf", double.NegativeInfinity)]
    [InlineData("m Inf", double.PositiveInfinity)]
    [InlineData("m 123456789012345678901234567890", 1.2345678901234568e29)]
    [InlineData("m .5", 0.5)]
    public void TryRead_ValueForms_Parse(string line, double expected)
    {
        var (samples, malformed) = ReadAll(line);
        Assert.Equal(0, malformed);
        Assert.Equal(expected, Assert.Single(samples).Value);
    }

    [Fact]
    public void TryRead_NaN_Parses()
    {
        var (samples, _) = ReadAll("a NaN\nb nan\n");
        Assert.All(samples, s => Assert.True(double.IsNaN(s.Value)));
        Assert.Equal(2, samples.Count);
    }

    [Fact]
    public void TryRead_Timestamp_IsRead()
    {
        var (samples, malformed) = ReadAll("m{a=\"b\"} 4 1700000000123\nn 5 -42\n");
        Assert.Equal(0, malformed);
        Assert.Equal(1700000000123, samples[0].Timestamp);
        Assert.Equal(-42, samples[1].Timestamp);
    }

    [Fact]
    public void TryRead_Escapes_AreDecoded()
    {
        var (samples, malformed) = ReadAll("m{path=\"C:\\\\dir\",msg=\"say \\\"hi\\\"\",multi=\"a\\nb\"} 1\n");
        Assert.Equal(0, malformed);
        var labels = Assert.Single(samples).Labels;
        Assert.Equal(("path", "C:\\dir"), labels[0]);
        Assert.Equal(("msg", "say \"hi\""), labels[1]);
        Assert.Equal(("multi", "a\nb"), labels[2]);
    }

    [Fact]
    public void Label_ValueEquals_ComparesDecodedBytes()
    {
        var page = "m{a=\"x\\\"y\",b=\"plain\"} 1"u8;
        var reader = new PrometheusTextReader(page);
        Assert.True(reader.TryRead(out var sample));
        Assert.True(sample.TryGetLabel("a"u8, out var a));
        Assert.True(a.ValueEquals("x\"y"u8));
        Assert.False(a.ValueEquals("x\\\"y"u8));
        Assert.False(a.ValueEquals("x\"yz"u8));
        Assert.Equal(3, a.ValueLength);
        Assert.True(sample.TryGetLabel("b"u8, out var b));
        Assert.True(b.ValueEquals("plain"u8));
        Assert.False(sample.TryGetLabel("c"u8, out _));
    }

    [Fact]
    public void TryRead_CrLfBlankLinesAndBracesInValues_AreTolerated()
    {
        var (samples, malformed) = ReadAll("# HELP m help\r\n# TYPE m gauge\r\n\r\n   \r\nm{a=\"}{,=\"} 2\r\n\tn 3\r\n# EOF\r\n");
        Assert.Equal(0, malformed);
        Assert.Equal(2, samples.Count);
        Assert.Equal(("a", "}{,="), samples[0].Labels[0]);
        Assert.Equal("n", samples[1].Name);
    }

    [Fact]
    public void TryRead_LabelForms_TrailingCommaEmptyBlockAndBlanks()
    {
        var (samples, malformed) = ReadAll("a{x=\"1\",} 1\nb{} 2\nc{ x = \"1\" , y=\"2\" } 3\nd{x=\"1\"}4\n");
        Assert.Equal(0, malformed);
        Assert.Equal(4, samples.Count);
        Assert.Equal([("x", "1"), ("y", "2")], samples[2].Labels);
        Assert.Equal(4, samples[3].Value);
    }

    [Theory]
    [InlineData("m")]
    [InlineData("m ")]
    [InlineData("m abc")]
    [InlineData("m 1 2 3")]
    [InlineData("m 1 notatimestamp")]
    [InlineData("1m 1")]
    [InlineData("m{a=\"b\" 1")]
    [InlineData("m{a=b} 1")]
    [InlineData("m{a=\"b\\x\"} 1")]
    [InlineData("m{=\"b\"} 1")]
    [InlineData("m{a=\"b\"c=\"d\"} 1")]
    [InlineData("m{a:b=\"c\"} 1")]
    [InlineData("m{a=\"unterminated} 1")]
    [InlineData("m-name 1")]
    [InlineData("m 1e")]
    [InlineData("m ++Inf")]
    [InlineData("{a=\"b\"} 1")]
    public void TryRead_MalformedLine_IsCountedAndSkipped(string bad)
    {
        var (samples, malformed) = ReadAll($"good_before 1\n{bad}\ngood_after 2\n");
        Assert.Equal(1, malformed);
        Assert.Equal(["good_before", "good_after"], samples.Select(s => s.Name));
    }

    [Fact]
    public void TryRead_NoTrailingNewline_ReadsLastLine()
    {
        var (samples, _) = ReadAll("a 1\nb 2");
        Assert.Equal(2, samples.Count);
    }

    [Fact]
    public void TryRead_RandomBytes_NeverThrows()
    {
        var random = new Random(12345);
        var valid = Encoding.UTF8.GetBytes(ModelServerPages.Vllm());
        for (var round = 0; round < 2000; round++)
        {
            byte[] page;
            if (round % 2 == 0)
            {
                page = new byte[random.Next(0, 512)];
                random.NextBytes(page);
            }
            else
            {
                // Mutate a real page: corrupt, drop or duplicate bytes.
                page = (byte[])valid.Clone();
                for (var i = 0; i < 20; i++)
                {
                    page[random.Next(page.Length)] = (byte)"{}\"\\=, \n\r#0aZ:+-.eE\t\0\xff"[random.Next(22)];
                }

                page = page.AsSpan(0, random.Next(page.Length)).ToArray();
            }

            var (samples, malformed) = ReadAll(page);
            Assert.True(samples.Count + malformed <= page.Count(b => b == (byte)'\n') + 1);
        }
    }

    [Fact]
    public void TryRead_RandomLineSplits_ReadSameSamplesAsWholePage()
    {
        // Re-joins the page with random \r\n / \n / blank lines / comments between lines: samples must not change.
        var random = new Random(777);
        var page = ModelServerPages.Vllm(series: 60);
        var expected = ReadAll(page).Samples;
        for (var round = 0; round < 200; round++)
        {
            var b = new StringBuilder();
            foreach (var line in page.Split('\n'))
            {
                b.Append(line);
                b.Append(random.Next(4) switch { 0 => "\r\n", 1 => "\n\n", 2 => "\n# comment {\"\n", _ => "\n" });
            }

            var (samples, malformed) = ReadAll(b.ToString());
            Assert.Equal(0, malformed);
            Assert.Equal(expected.Count, samples.Count);
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].Name, samples[i].Name);
                Assert.Equal(expected[i].Value, samples[i].Value);
                Assert.Equal(expected[i].Labels, samples[i].Labels);
            }
        }
    }

    [Fact]
    public void TryRead_WholePage_AllocatesNothing()
    {
        var page = Encoding.UTF8.GetBytes(ModelServerPages.Vllm(series: 100));
        Count(page);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var total = Count(page);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(100, total);
        Assert.Equal(0, allocated);

        static int Count(byte[] page)
        {
            var reader = new PrometheusTextReader(page);
            var n = 0;
            while (reader.TryRead(out var sample))
            {
                foreach (var label in sample.Labels)
                {
                    n += label.ValueEquals("0"u8) ? 0 : 0;
                }

                n++;
            }

            return n;
        }
    }
}
