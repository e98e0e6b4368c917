using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Runtime.Plugins.Lifecycle;

namespace Runtime.Plugins.Tests.Lifecycle;

public class DeprecationReporterTests
{
    [Fact]
    public void Report_DeprecatedUse_WarningLineAndCounter()
    {
        var logger = new CapturingLogger();
        long counted = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Runtime.Plugins" && instrument.Name == "runtime_plugins_deprecated_loads_total")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (tags.ToArray().Any(t => t.Key == "type" && (string?)t.Value == "kv-cache-scorer"))
            {
                Interlocked.Add(ref counted, value);
            }
        });
        listener.Start();
        var reporter = new DeprecationReporter(logger);

        reporter.Report("kv", "kv-cache-scorer", new PluginDeprecation("Renamed.", ["kv-cache-utilization-scorer"]));

        Assert.Equal(1, reporter.Reported);
        Assert.Equal(1, Interlocked.Read(ref counted));
        var (level, message) = Assert.Single(logger.Lines);
        Assert.Equal(LogLevel.Warning, level);
        Assert.Equal("Plugin \"kv\" uses deprecated type \"kv-cache-scorer\": Renamed. Use instead: kv-cache-utilization-scorer.", message);
    }

    private sealed class CapturingLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception)));
    }
}
