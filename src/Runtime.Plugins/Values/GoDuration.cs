using System.Globalization;

namespace Runtime.Plugins.Values;

/// <summary>
/// Go <c>time.Duration</c> strings ("50ms", "1m30s", "2h", "-1.5s") as Go's <c>time.ParseDuration</c>
/// accepts them; used by the Go-compatible flags and by duration fields in configuration files.
/// </summary>
public static class GoDuration
{
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = default;
        var span = text.AsSpan();
        var negative = false;
        if (!span.IsEmpty && span[0] is '-' or '+')
        {
            negative = span[0] == '-';
            span = span[1..];
        }

        // Go accepts a bare "0" (no unit) and nothing else without a unit.
        if (span is "0")
        {
            return true;
        }

        if (span.IsEmpty)
        {
            return false;
        }

        double totalTicks = 0;
        while (!span.IsEmpty)
        {
            var n = 0;
            while (n < span.Length && (char.IsAsciiDigit(span[n]) || span[n] == '.'))
            {
                n++;
            }

            if (n == 0 || !double.TryParse(span[..n], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
            {
                return false;
            }

            span = span[n..];
            var u = 0;
            while (u < span.Length && !char.IsAsciiDigit(span[u]) && span[u] != '.')
            {
                u++;
            }

            double unitTicks = span[..u] switch
            {
                "ns" => 0.01,
                "us" or "µs" or "μs" => 10,
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute,
                "h" => TimeSpan.TicksPerHour,
                _ => -1,
            };
            if (unitTicks < 0)
            {
                return false;
            }

            totalTicks += amount * unitTicks;
            span = span[u..];
        }

        if (totalTicks > TimeSpan.MaxValue.Ticks)
        {
            return false;
        }

        duration = TimeSpan.FromTicks(negative ? -(long)totalTicks : (long)totalTicks);
        return true;
    }

    public static string Format(TimeSpan value) =>
        value.TotalMilliseconds < 1000 && value.Ticks % TimeSpan.TicksPerMillisecond == 0
            ? $"{value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms"
            : $"{value.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s";
}
