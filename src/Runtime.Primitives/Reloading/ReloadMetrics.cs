using System.Diagnostics.Metrics;
using Runtime.Primitives.Diagnostics;

namespace Runtime.Primitives.Reloading;

/// <summary>The families every <see cref="ReloadableSource{T}"/> counts into, labelled by its name.</summary>
internal static class ReloadMetrics
{
    public const string LoadsCounterName = "runtime_reloads_total";
    public const string ErrorsCounterName = "runtime_reload_errors_total";

    internal static Counter<long> Loads { get; } = RuntimeMeter.Instance.CreateCounter<long>(
        LoadsCounterName, description: "Times a reloadable source's content was read because its fingerprint moved (first load included).");

    internal static Counter<long> Errors { get; } = RuntimeMeter.Instance.CreateCounter<long>(
        ErrorsCounterName, description: "Reloads rejected (invalid or unreadable content, or a crash); the last good state stayed in service.");
}
