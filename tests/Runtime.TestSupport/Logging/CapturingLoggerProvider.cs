using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Runtime.TestSupport.Logging;

/// <summary>One captured log line: everything a reader of the real log would see.</summary>
public sealed record CapturedLog(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception)
{
    public override string ToString() => $"{Level} {Category}[{EventId.Id}] {Message}{(Exception is null ? string.Empty : " | " + Exception.GetType().Name + ": " + Exception.Message)}";
}

/// <summary>
/// An <see cref="ILoggerProvider"/> (and a ready <see cref="ILogger"/>) that keeps every line at
/// every level, so tests can assert what an operator would find in the log.
/// </summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ILoggerFactory
{
    private readonly ConcurrentQueue<CapturedLog> _entries = new();

    public IReadOnlyList<CapturedLog> Entries => [.. _entries];

    /// <summary>A logger of category "test".</summary>
    public ILogger Logger => CreateLogger("test");

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    /// <summary>The lines whose message contains every one of <paramref name="fragments"/>.</summary>
    public IReadOnlyList<CapturedLog> Matching(params string[] fragments) =>
        [.. _entries.Where(e => fragments.All(f => e.Message.Contains(f, StringComparison.Ordinal)))];

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class CapturingLogger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue(new CapturedLog(category, logLevel, eventId, formatter(state, exception), exception));
    }
}
