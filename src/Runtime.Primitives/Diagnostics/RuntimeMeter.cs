using System.Diagnostics.Metrics;

namespace Runtime.Primitives.Diagnostics;

/// <summary>
/// The meter of the process-wide families kept by this assembly (swallowed failures, reloads).
/// Its name starts with <c>Runtime.</c>, so the Prometheus exporter serves it.
/// </summary>
internal static class RuntimeMeter
{
    public const string Name = "Runtime.Primitives";

    internal static Meter Instance { get; } = new(Name);
}
