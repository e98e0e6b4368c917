using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Runtime.Primitives.Diagnostics;

/// <summary>
/// The one way to absorb a failure so the process keeps serving (a dispatch cycle that threw, a
/// metrics collector that threw, a processor that threw after its client left): log it once, with
/// what was being done, and count it in <c>runtime_swallowed_errors_total{component,kind}</c>.
/// A catch that neither rethrows nor reports through here hides a failure.
/// </summary>
internal static partial class SwallowedErrors
{
    public const string CounterName = "runtime_swallowed_errors_total";

    private static readonly Counter<long> s_counter = RuntimeMeter.Instance.CreateCounter<long>(
        CounterName,
        description: "Failures absorbed so the process keeps serving, by component and kind; each is also logged.");

    /// <summary>Logs <paramref name="exception"/> at <paramref name="level"/> and counts it.</summary>
    /// <param name="component">Where it happened: <c>flow_control</c>, <c>ext_proc</c>, <c>metrics</c>…</param>
    /// <param name="kind">What failed, a short stable label: <c>dispatch_cycle</c>, <c>collector</c>…</param>
    /// <param name="context">What was being done, for the log line (a shard, a family name, a method).</param>
    public static void Report(ILogger logger, LogLevel level, string component, string kind, string context, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(logger);
        s_counter.Add(1, new KeyValuePair<string, object?>("component", component), new KeyValuePair<string, object?>("kind", kind));
        Log.Swallowed(logger, level, component, kind, context, exception);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 9001, Message = "{Component} ({Kind}): {Context}; absorbed to keep serving, counted in runtime_swallowed_errors_total")]
        public static partial void Swallowed(ILogger logger, LogLevel level, string component, string kind, string context, Exception exception);
    }
}
