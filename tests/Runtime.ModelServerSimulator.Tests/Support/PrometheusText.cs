using System.Globalization;
using System.Text;

namespace Runtime.Simulation.Tests.Support;

public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// A small, strict reader of the Prometheus text format, written independently of the
/// simulator's renderer so that the tests check the page rather than echo the code.
/// </summary>
public sealed class PrometheusText
{
    private PrometheusText(IReadOnlyList<PrometheusSample> samples, IReadOnlyDictionary<string, string> types)
    {
        Samples = samples;
        Types = types;
    }

    public IReadOnlyList<PrometheusSample> Samples { get; }

    /// <summary>Family name → type from the <c># TYPE</c> lines.</summary>
    public IReadOnlyDictionary<string, string> Types { get; }

    public static PrometheusText Parse(string page)
    {
        var samples = new List<PrometheusSample>();
        var types = new Dictionary<string, string>();
        var lines = page.Split('\n');
        Assert.Equal(string.Empty, lines[^1]); // the page ends with a newline
        foreach (var line in lines[..^1])
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                Assert.Equal(4, parts.Length);
                Assert.Contains(parts[3], new[] { "gauge", "counter", "histogram", "summary", "untyped" });
                types.Add(parts[2], parts[3]);
                continue;
            }

            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                continue;
            }

            Assert.False(line.StartsWith('#'), $"Unexpected comment: {line}");
            samples.Add(ParseSample(line));
        }

        return new PrometheusText(samples, types);
    }

    public IEnumerable<PrometheusSample> All(string name) => Samples.Where(s => s.Name == name);

    /// <summary>The value of the only sample called <paramref name="name"/>.</summary>
    public double Value(string name) => Assert.Single(All(name)).Value;

    public PrometheusSample Only(string name) => Assert.Single(All(name));

    private static PrometheusSample ParseSample(string line)
    {
        var labels = new Dictionary<string, string>();
        var brace = line.IndexOf('{', StringComparison.Ordinal);
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        string name;
        int valueStart;
        if (brace >= 0 && brace < space)
        {
            name = line[..brace];
            var i = brace + 1;
            while (line[i] != '}')
            {
                var equals = line.IndexOf('=', i);
                var label = line[i..equals];
                Assert.Equal('"', line[equals + 1]);
                var value = new StringBuilder();
                var j = equals + 2;
                for (; line[j] != '"'; j++)
                {
                    if (line[j] == '\\')
                    {
                        j++;
                        value.Append(line[j] == 'n' ? '\n' : line[j]);
                    }
                    else
                    {
                        value.Append(line[j]);
                    }
                }

                labels.Add(label, value.ToString());
                i = j + 1;
                if (line[i] == ',')
                {
                    i++;
                }
            }

            Assert.Equal(' ', line[i + 1]);
            valueStart = i + 2;
        }
        else
        {
            name = line[..space];
            valueStart = space + 1;
        }

        var text = line[valueStart..];
        var number = text switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
        };
        return new PrometheusSample(name, labels, number);
    }
}
