using System.Collections.Concurrent;
using System.Globalization;

namespace Runtime.Telemetry.Labels;

/// <summary>
/// Label values the request path needs as strings without allocating per request: a priority is
/// formatted once (GIE's <c>strconv.Itoa(priority)</c>) and reused.
/// </summary>
internal static class MetricLabels
{
    private const int CachedMin = -128;
    private const int CachedMax = 127;
    private static readonly string[] s_small = CreateSmall();
    private static readonly ConcurrentDictionary<int, string> s_large = new();

    /// <summary>The decimal text of <paramref name="priority"/>, the same instance every time.</summary>
    public static string Priority(int priority) =>
        (uint)(priority - CachedMin) <= CachedMax - CachedMin
            ? s_small[priority - CachedMin]
            : s_large.GetOrAdd(priority, static p => p.ToString(CultureInfo.InvariantCulture));

    /// <summary><c>"true"</c> or <c>"false"</c>, as Go's label values spell them.</summary>
    public static string Bool(bool value) => value ? "true" : "false";

    private static string[] CreateSmall()
    {
        var values = new string[CachedMax - CachedMin + 1];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (i + CachedMin).ToString(CultureInfo.InvariantCulture);
        }

        return values;
    }
}
