using System.Globalization;

namespace Runtime.TestSupport.Metrics;

/// <summary>Reads samples out of a Prometheus text page (what <c>GET /metrics</c> returns).</summary>
public static class PrometheusPage
{
    /// <summary>
    /// The value of the sample <paramref name="series"/> (name and label set exactly as rendered,
    /// e.g. <c>x_total{a="1"}</c>); null when the page has no such sample.
    /// </summary>
    public static double? Value(string page, string series)
    {
        foreach (var line in page.Split('\n'))
        {
            if (line.Length > series.Length && line.StartsWith(series, StringComparison.Ordinal) && line[series.Length] == ' ')
            {
                return double.Parse(line.AsSpan(series.Length + 1), NumberStyles.Float, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }
}
